//! Offers as real phones send them, and what we answer.

use super::*;

fn local() -> LocalMedia {
    LocalMedia {
        ip: "203.0.113.7".parse().unwrap(),
        port: 10000,
        session_id: 42,
        session_version: 1,
        srtp: Default::default(),
    }
}

/// SIP bodies use CRLF; the fixtures are written with `\n` for readability.
fn crlf(sdp: &str) -> String {
    sdp.replace('\n', "\r\n")
}

/// The audio m= line of an SDP, for exact comparison.
fn m_line<'a>(sdp: &'a str, media: &str) -> &'a str {
    sdp.lines()
        .find(|l| l.starts_with(&format!("m={media} ")))
        .unwrap_or_else(|| panic!("no m={media} in\n{sdp}"))
}

/// A Linphone-like offer: opus and speex first, G.711 in the middle, telephone-event at three
/// clock rates, session-level RTCP-XR and wildcard rtcp-fb attributes.
const LINPHONE: &str = "v=0
o=alice 2987 3012 IN IP4 192.0.2.20
s=Talk
c=IN IP4 192.0.2.20
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 5000
a=rtcp-fb:* ccm tmmbr
";

/// A Zoiper-like offer: opus, G722 (static 9, no rtpmap), wideband telephone-event first.
const ZOIPER: &str = "v=0
o=Z 0 0 IN IP4 198.51.100.10
s=Z
c=IN IP4 198.51.100.10
t=0 0
m=audio 8000 RTP/AVP 106 9 98 101 0 8 3
a=rtpmap:106 opus/48000/2
a=fmtp:106 sprop-maxcapturerate=16000; minptime=20; useinbandfec=1
a=rtpmap:98 telephone-event/48000
a=fmtp:98 0-16
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv
a=rtcp-mux
";

/// SIPp's built-in uac scenario body, with its keywords filled in.
const SIPP_UAC: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
";

fn offer_with(m_and_attributes: &str) -> String {
    crlf(&format!(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n{m_and_attributes}"
    ))
}

#[test]
fn linphone_offer_gets_pcmu_and_its_8khz_telephone_event() {
    let (n, sdp) = answer(&crlf(LINPHONE), &local()).unwrap();
    assert_eq!(n.codec, G711::Ulaw);
    assert_eq!(n.codec_pt, 0);
    assert_eq!(n.telephone_event_pt, Some(100));
    assert_eq!(
        n.remote,
        "192.0.2.20:7078".parse::<std::net::SocketAddr>().unwrap()
    );
    assert_eq!(n.local_direction, Direction::SendRecv);
    assert!(!n.on_hold());
    assert_eq!(m_line(&sdp, "audio"), "m=audio 10000 RTP/AVP 0 100");
    assert!(sdp.contains("a=rtpmap:0 PCMU/8000\r\n"), "{sdp}");
    assert!(
        sdp.contains("a=rtpmap:100 telephone-event/8000\r\n"),
        "{sdp}"
    );
    assert!(sdp.contains("a=fmtp:100 0-15\r\n"), "{sdp}");
    assert!(sdp.contains("a=ptime:20\r\n"), "{sdp}");
    assert!(sdp.contains("a=sendrecv\r\n"), "{sdp}");
}

#[test]
fn zoiper_offer_skips_g722_and_wideband_events() {
    let (n, sdp) = answer(&crlf(ZOIPER), &local()).unwrap();
    assert_eq!(n.codec, G711::Ulaw);
    assert_eq!(n.telephone_event_pt, Some(101));
    assert_eq!(
        n.remote,
        "198.51.100.10:8000"
            .parse::<std::net::SocketAddr>()
            .unwrap()
    );
    assert_eq!(m_line(&sdp, "audio"), "m=audio 10000 RTP/AVP 0 101");
    assert!(!sdp.contains("opus") && !sdp.contains("G722"), "{sdp}");
}

#[test]
fn sipp_default_offer_gets_pcmu_without_telephone_events() {
    let (n, sdp) = answer(&crlf(SIPP_UAC), &local()).unwrap();
    assert_eq!(n.codec, G711::Ulaw);
    assert_eq!(n.telephone_event_pt, None);
    assert_eq!(
        n.remote,
        "127.0.0.1:6000".parse::<std::net::SocketAddr>().unwrap()
    );
    assert_eq!(m_line(&sdp, "audio"), "m=audio 10000 RTP/AVP 0");
    assert!(
        !sdp.contains("telephone-event") && !sdp.contains("fmtp"),
        "{sdp}"
    );
}

#[test]
fn answer_carries_our_origin_address_and_session_version() {
    let mut ours = local();
    ours.session_version = 7;
    let (_, sdp) = answer(&crlf(SIPP_UAC), &ours).unwrap();
    let lines: Vec<&str> = sdp.lines().collect();
    assert_eq!(
        &lines[..5],
        &[
            "v=0",
            "o=hotline 42 7 IN IP4 203.0.113.7",
            "s=Hotline",
            "c=IN IP4 203.0.113.7",
            "t=0 0"
        ]
    );
}

#[test]
fn pcma_only_offer_gets_pcma() {
    let offer = offer_with("m=audio 4000 RTP/AVP 8\na=rtpmap:8 PCMA/8000\n");
    let (n, sdp) = answer(&offer, &local()).unwrap();
    assert_eq!(n.codec, G711::Alaw);
    assert_eq!(m_line(&sdp, "audio"), "m=audio 10000 RTP/AVP 8");
    assert!(sdp.contains("a=rtpmap:8 PCMA/8000"), "{sdp}");
}

#[test]
fn offerer_order_wins_pcma_before_pcmu_and_dynamic_event_pt_is_echoed() {
    let offer = offer_with("m=audio 4000 RTP/AVP 8 0 96\na=rtpmap:96 telephone-event/8000\n");
    let (n, sdp) = answer(&offer, &local()).unwrap();
    assert_eq!(n.codec, G711::Alaw);
    assert_eq!(n.telephone_event_pt, Some(96));
    assert_eq!(m_line(&sdp, "audio"), "m=audio 10000 RTP/AVP 8 96");
    assert!(sdp.contains("a=fmtp:96 0-15"), "{sdp}");
}

#[test]
fn g711_under_a_dynamic_pt_is_found_by_name_case_insensitively() {
    let offer = offer_with(
        "m=audio 4000 RTP/AVP 110 111\na=rtpmap:110 pcmu/8000\na=rtpmap:111 telephone-event/8000\n",
    );
    let (n, sdp) = answer(&offer, &local()).unwrap();
    assert_eq!((n.codec, n.codec_pt), (G711::Ulaw, 110));
    assert_eq!(m_line(&sdp, "audio"), "m=audio 10000 RTP/AVP 110 111");
    assert!(sdp.contains("a=rtpmap:110 PCMU/8000"), "{sdp}");
}

#[test]
fn g711_name_at_another_clock_rate_is_not_g711() {
    let offer = offer_with("m=audio 4000 RTP/AVP 110 8\na=rtpmap:110 PCMU/16000\n");
    assert_eq!(answer(&offer, &local()).unwrap().0.codec, G711::Alaw);
}

#[test]
fn hold_offer_sendonly_is_answered_recvonly() {
    let offer = crlf(ZOIPER).replace("a=sendrecv", "a=sendonly");
    let (n, sdp) = answer(&offer, &local()).unwrap();
    assert_eq!(n.remote_direction, Direction::SendOnly);
    assert_eq!(n.local_direction, Direction::RecvOnly);
    assert!(n.on_hold());
    assert!(
        sdp.contains("a=recvonly\r\n") && !sdp.contains("a=sendrecv"),
        "{sdp}"
    );
}

#[test]
fn inactive_offer_is_answered_inactive_and_recvonly_with_sendonly() {
    let inactive = crlf(ZOIPER).replace("a=sendrecv", "a=inactive");
    let (n, sdp) = answer(&inactive, &local()).unwrap();
    assert_eq!(n.local_direction, Direction::Inactive);
    assert!(n.on_hold());
    assert!(sdp.contains("a=inactive\r\n"), "{sdp}");

    let recvonly = crlf(ZOIPER).replace("a=sendrecv", "a=recvonly");
    let (n, sdp) = answer(&recvonly, &local()).unwrap();
    assert_eq!(n.local_direction, Direction::SendOnly);
    assert!(!n.on_hold(), "the peer still wants our audio");
    assert!(sdp.contains("a=sendonly\r\n"), "{sdp}");
}

#[test]
fn unhold_reinvite_after_hold_resumes_sendrecv_with_a_new_version() {
    let mut ours = local();
    let hold = crlf(ZOIPER).replace("a=sendrecv", "a=sendonly");
    let (held, _) = answer(&hold, &ours).unwrap();
    assert!(held.on_hold());
    ours.session_version += 1;
    let (resumed, sdp) = answer(&crlf(ZOIPER), &ours).unwrap();
    assert!(!resumed.on_hold());
    assert_eq!(resumed.local_direction, Direction::SendRecv);
    assert!(sdp.contains("o=hotline 42 2 IN IP4"), "{sdp}");
}

#[test]
fn old_style_hold_with_zero_address_is_hold() {
    let offer = crlf(SIPP_UAC).replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    let (n, sdp) = answer(&offer, &local()).unwrap();
    assert!(n.on_hold());
    assert_eq!(n.remote_direction, Direction::SendRecv);
    // Nothing to send to: we say so rather than promise audio.
    assert_eq!(n.local_direction, Direction::RecvOnly);
    assert!(sdp.contains("a=recvonly"), "{sdp}");
}

#[test]
fn session_level_direction_applies_and_stream_level_overrides_it() {
    let offer = crlf(SIPP_UAC).replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    assert_eq!(
        answer(&offer, &local()).unwrap().0.remote_direction,
        Direction::SendOnly
    );
    let overridden = format!("{offer}a=sendrecv\r\n");
    assert_eq!(
        answer(&overridden, &local()).unwrap().0.remote_direction,
        Direction::SendRecv
    );
}

#[test]
fn stream_level_connection_address_overrides_the_session_one() {
    let offer = offer_with("m=audio 4000 RTP/AVP 0\nc=IN IP4 10.9.9.9\n");
    assert_eq!(
        answer(&offer, &local()).unwrap().0.remote,
        "10.9.9.9:4000".parse::<std::net::SocketAddr>().unwrap()
    );
}

#[test]
fn disabled_audio_stream_is_answered_with_port_zero_and_means_hold() {
    let offer = offer_with("m=audio 0 RTP/AVP 0\n");
    let (n, sdp) = answer(&offer, &local()).unwrap();
    assert!(n.on_hold());
    assert_eq!(m_line(&sdp, "audio"), "m=audio 0 RTP/AVP 0");
}

#[test]
fn video_stream_is_rejected_with_port_zero_in_its_place() {
    let offer = format!(
        "{}m=video 9078 RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\n",
        crlf(LINPHONE)
    );
    let (n, sdp) = answer(&offer, &local()).unwrap();
    assert_eq!(n.codec, G711::Ulaw);
    let m_lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m_lines,
        ["m=audio 10000 RTP/AVP 0 100", "m=video 0 RTP/AVP 102"]
    );
    assert!(!sdp.contains("H264"), "{sdp}");
}

#[test]
fn video_first_keeps_the_m_line_order() {
    let offer = offer_with("m=video 9078 RTP/AVP 102\nm=audio 4000 RTP/AVP 0\n");
    let (_, sdp) = answer(&offer, &local()).unwrap();
    let m_lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m_lines,
        ["m=video 0 RTP/AVP 102", "m=audio 10000 RTP/AVP 0"]
    );
}

#[test]
fn second_audio_stream_is_rejected_and_first_usable_one_taken() {
    let offer =
        offer_with("m=audio 4000 RTP/AVP 9\nm=audio 4002 RTP/AVP 8\nm=audio 4004 RTP/AVP 0\n");
    let (n, sdp) = answer(&offer, &local()).unwrap();
    assert_eq!((n.codec, n.remote.port()), (G711::Alaw, 4002));
    let m_lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m_lines,
        [
            "m=audio 0 RTP/AVP 9",
            "m=audio 10000 RTP/AVP 8",
            "m=audio 0 RTP/AVP 0"
        ]
    );
}

#[test]
fn avpf_profile_is_accepted_and_echoed() {
    let offer = offer_with("m=audio 4000 RTP/AVPF 0\n");
    let (_, sdp) = answer(&offer, &local()).unwrap();
    assert_eq!(m_line(&sdp, "audio"), "m=audio 10000 RTP/AVPF 0");
}

#[test]
fn no_common_codec_lists_what_was_offered_and_means_488() {
    let offer = offer_with("m=audio 4000 RTP/AVP 96 9 120\na=rtpmap:96 opus/48000/2\n");
    let err = answer(&offer, &local()).unwrap_err();
    assert_eq!(
        err,
        SdpError::NoCommonCodec {
            offered: vec!["opus/48000".into(), "G722/8000".into(), "PT 120".into()]
        }
    );
    assert!(err.is_not_acceptable());
}

#[test]
fn srtp_only_audio_without_tls_is_refused_as_not_acceptable() {
    // `local()` is a call over plain SIP (more in crypto_tests.rs).
    let offer =
        offer_with("m=audio 4000 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\n");
    let err = answer(&offer, &local()).unwrap_err();
    assert_eq!(err, SdpError::SrtpWithoutTls);
    assert!(err.is_not_acceptable());
}

#[test]
fn video_only_offer_has_no_audio() {
    let offer = offer_with("m=video 4000 RTP/AVP 96\n");
    let err = answer(&offer, &local()).unwrap_err();
    assert_eq!(err, SdpError::NoAudio);
    assert!(err.is_not_acceptable());
}

#[test]
fn garbage_is_a_parse_error_naming_the_line() {
    let cases = [
        ("", "unparsable SDP: empty body"),
        (
            "hello world",
            "unparsable SDP: line 1 `hello world` is not a `<letter>=<value>` SDP line",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n<html>",
            "unparsable SDP: line 3 `<html>` is not a `<letter>=<value>` SDP line",
        ),
        (
            "v=0\r\no=- one 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n",
            "unparsable SDP: line 2 `o=- one 1 IN IP4 10.0.0.1`: bad number (invalid digit found in string)",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n",
            "unparsable SDP: ends after line 3 `s=-`: a required line (v=, o=, s= or t=) is missing",
        ),
    ];
    for (text, expected) in cases {
        let err = answer(text, &local()).unwrap_err();
        assert!(!err.is_not_acceptable());
        assert_eq!(err.to_string(), expected, "for {text:?}");
    }
}

#[test]
fn out_of_order_and_bad_values_are_located() {
    let misplaced =
        offer_with("a=sendrecv\n").replace("t=0 0\r\na=sendrecv\r\n", "a=sendrecv\r\nt=0 0\r\n");
    let err = answer(&misplaced, &local()).unwrap_err().to_string();
    assert!(
        err.starts_with("unparsable SDP: line 5 `a=sendrecv`: `a=` line out of place"),
        "{err}"
    );

    let bad_port = offer_with("m=audio 70000 RTP/AVP 0\n");
    let err = answer(&bad_port, &local()).unwrap_err().to_string();
    assert!(
        err.starts_with("unparsable SDP: line 6 `m=audio 70000 RTP/AVP 0`: bad number"),
        "{err}"
    );

    let host_name = offer_with("m=audio 4000 RTP/AVP 0\n")
        .replace("c=IN IP4 10.0.0.1", "c=IN IP4 pbx.example.com");
    assert_eq!(
        answer(&host_name, &local()).unwrap_err().to_string(),
        "unparsable SDP: c= address `pbx.example.com` is not an IP address"
    );

    let no_address = offer_with("m=audio 4000 RTP/AVP 0\n").replace("c=IN IP4 10.0.0.1\r\n", "");
    assert_eq!(
        answer(&no_address, &local()).unwrap_err(),
        SdpError::NoAddress
    );
}

#[test]
fn every_truncation_or_corruption_of_an_offer_is_an_error_or_an_answer_never_a_panic() {
    let full = crlf(LINPHONE);
    for cut in 0..full.len() {
        let _ = answer(&full[..cut], &local());
    }
    for (i, replacement) in [(0, "x"), (2, "9"), (40, "="), (100, " "), (200, ":")] {
        let mut corrupted = full.clone();
        corrupted.replace_range(i..i + 1, replacement);
        let _ = answer(&corrupted, &local());
    }
}

#[test]
fn bare_lf_line_ends_are_accepted() {
    let (n, _) = answer(SIPP_UAC, &local()).unwrap();
    assert_eq!(n.codec, G711::Ulaw);
}

#[test]
fn ipv6_offer_and_local_address() {
    let offer = crlf(SIPP_UAC).replace("IN IP4 127.0.0.1", "IN IP6 2001:db8::5");
    let ours = LocalMedia {
        ip: "2001:db8::1".parse().unwrap(),
        ..local()
    };
    let (n, sdp) = answer(&offer, &ours).unwrap();
    assert_eq!(
        n.remote,
        "[2001:db8::5]:6000"
            .parse::<std::net::SocketAddr>()
            .unwrap()
    );
    assert!(
        sdp.contains("o=hotline 42 1 IN IP6 2001:db8::1\r\n"),
        "{sdp}"
    );
    assert!(sdp.contains("c=IN IP6 2001:db8::1\r\n"), "{sdp}");
}

#[test]
fn our_answer_is_itself_valid_sdp_with_one_codec() {
    let (_, sdp) = answer(&crlf(LINPHONE), &local()).unwrap();
    let again = accept_answer(&sdp, &local()).unwrap();
    assert_eq!(again.codec, G711::Ulaw);
    assert_eq!(again.telephone_event_pt, Some(100));
    assert_eq!(
        again.remote,
        "203.0.113.7:10000".parse::<std::net::SocketAddr>().unwrap()
    );
}

#[test]
fn our_offer_lists_pcmu_pcma_and_telephone_events() {
    let sdp = offer(&local());
    assert_eq!(m_line(&sdp, "audio"), "m=audio 10000 RTP/AVP 0 8 101");
    for line in [
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
        "c=IN IP4 203.0.113.7",
    ] {
        assert!(
            sdp.contains(&format!("{line}\r\n")),
            "missing {line} in\n{sdp}"
        );
    }
}

#[test]
fn phone_answer_to_our_offer_picks_its_codec_and_direction() {
    let phone = offer_with("m=audio 5004 RTP/AVP 8 101\na=rtpmap:8 PCMA/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\na=recvonly\n");
    let n = accept_answer(&phone, &local()).unwrap();
    assert_eq!(n.codec, G711::Alaw);
    assert_eq!(n.telephone_event_pt, Some(101));
    assert_eq!(
        n.remote,
        "10.0.0.1:5004".parse::<std::net::SocketAddr>().unwrap()
    );
    assert_eq!(n.local_direction, Direction::SendOnly);
}

#[test]
fn answer_without_a_usable_codec_is_refused() {
    let phone = offer_with("m=audio 5004 RTP/AVP 18\n");
    assert!(matches!(
        accept_answer(&phone, &local()),
        Err(SdpError::NoCommonCodec { .. })
    ));
    assert!(matches!(
        accept_answer("", &local()),
        Err(SdpError::Parse(_))
    ));
}
