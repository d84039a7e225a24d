//! SRTP offers (RTP/SAVP with SDES keys, RFC 4568) as phones send them, and what we answer.

use super::*;

const OUR_KEY: [u8; MASTER_LEN] = [7; MASTER_LEN];

fn local(srtp: SrtpPolicy) -> LocalMedia {
    LocalMedia {
        ip: "203.0.113.7".parse().unwrap(),
        port: 10000,
        session_id: 42,
        session_version: 1,
        srtp,
    }
}

fn over_tls() -> LocalMedia {
    local(SrtpPolicy::Allowed(MasterKey::from_bytes(OUR_KEY)))
}

fn crlf(sdp: &str) -> String {
    sdp.replace('\n', "\r\n")
}

fn key_of(base64: &str) -> MasterKey {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64)
        .unwrap();
    MasterKey::from_bytes(bytes.try_into().unwrap())
}

/// The `a=crypto` lines of an SDP.
fn crypto_lines(sdp: &str) -> Vec<&str> {
    sdp.lines().filter(|l| l.starts_with("a=crypto:")).collect()
}

/// Our key as it must appear in our SDP.
fn our_inline() -> String {
    use base64::Engine;
    format!(
        "inline:{}",
        base64::engine::general_purpose::STANDARD.encode(OUR_KEY)
    )
}

const BARESIP_32: &str = "7ScsSVZYpSp2TOu6HgitxNWbM2Y1qzoBlOpHqbXw";
const BARESIP_80: &str = "AYRopiDFQ6JC8VjaDlTsv2kGv2n8QRzKRcWsAWdg";

/// baresip with `mediaenc srtp-mand`: RTP/SAVP, its four suites with the 32-bit tag first,
/// the GCM suites last (their keys are 44 bytes).
fn baresip() -> String {
    crlf(&format!(
        "v=0
o=- 1900390932 1183461467 IN IP4 192.0.2.30
s=-
c=IN IP4 192.0.2.30
t=0 0
m=audio 10404 RTP/SAVP 0 8 101
b=AS:64
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=rtcp-rsize
a=ssrc:3482271375 cname:7b4c1f52-5b7e-4e79-a2e4-a3a0b8e2a1f0
a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:{BARESIP_32}
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{BARESIP_80}
a=crypto:3 AEAD_AES_256_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis=
a=crypto:4 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis=
"
    ))
}

const DESK_PHONE_32: &str = "tJNAdbs02lR7xUfqkY7j/l7e7DmY+RGJ8T1Lb6P4";

/// A desk phone's offer (modelled on Polycom/Snom firmwares): the 256-bit suite first, then the
/// 128-bit ones with lifetimes, one of them with an MKI, and plain G.722 before G.711.
fn desk_phone() -> String {
    crlf(&format!(
        "v=0
o=- 1700000000 1700000000 IN IP4 198.51.100.44
s=Polycom IP Phone
c=IN IP4 198.51.100.44
t=0 0
a=sendrecv
m=audio 2222 RTP/SAVP 9 0 8 127
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:127 telephone-event/8000
a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLQ==|2^31
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:8ZAdg4/3IubxBZ8qE25NKOr4hf2vdJqwoH2DuITa|2^31|1:1
a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:{DESK_PHONE_32}|2^31
"
    ))
}

fn savp_offer(crypto_lines: &str) -> String {
    crlf(&format!(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\
         m=audio 4000 RTP/SAVP 0 101\na=rtpmap:101 telephone-event/8000\n{crypto_lines}"
    ))
}

#[test]
fn baresip_offer_over_tls_is_answered_savp_with_its_first_suite_and_our_own_key() {
    let (n, sdp) = answer(&baresip(), &over_tls()).unwrap();
    let keys = n.srtp.expect("SRTP negotiated");
    assert_eq!(keys.suite, SrtpSuite::AesCm128HmacSha1_32);
    assert_eq!(
        keys.remote,
        key_of(BARESIP_32),
        "baresip's key for its packets"
    );
    assert_eq!(keys.local, MasterKey::from_bytes(OUR_KEY));
    assert!(
        sdp.contains("m=audio 10000 RTP/SAVP 0 101\r\n"),
        "the profile is kept: {sdp}"
    );
    assert_eq!(
        crypto_lines(&sdp),
        [format!(
            "a=crypto:1 AES_CM_128_HMAC_SHA1_32 {}",
            our_inline()
        )],
        "one line: its tag and suite, our key"
    );
    assert!(
        !sdp.contains(BARESIP_32) && !sdp.contains(BARESIP_80),
        "never the caller's key echoed: {sdp}"
    );
}

#[test]
fn desk_phone_gets_the_first_of_its_crypto_lines_we_can_use() {
    let (n, sdp) = answer(&desk_phone(), &over_tls()).unwrap();
    let keys = n.srtp.expect("SRTP negotiated");
    assert_eq!(
        (keys.suite, &keys.remote),
        (SrtpSuite::AesCm128HmacSha1_32, &key_of(DESK_PHONE_32)),
        "tag 1 is a 256-bit suite and tag 2 has an MKI: tag 3"
    );
    assert_eq!(n.codec, G711::Ulaw);
    assert_eq!(n.telephone_event_pt, Some(127));
    assert_eq!(
        crypto_lines(&sdp),
        [format!(
            "a=crypto:3 AES_CM_128_HMAC_SHA1_32 {}",
            our_inline()
        )]
    );
}

#[test]
fn srtp_offer_over_plain_sip_is_refused_saying_tls_is_needed() {
    let err = answer(&baresip(), &local(SrtpPolicy::Refused)).unwrap_err();
    assert_eq!(err, SdpError::SrtpWithoutTls);
    assert!(err.is_not_acceptable(), "488");
    let text = err.to_string();
    assert!(
        text.contains("TLS") && text.contains("clear text"),
        "{text}"
    );
}

#[test]
fn plain_offer_over_tls_is_plain_rtp_unless_srtp_is_required() {
    let plain = crlf(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
    );
    let (n, sdp) = answer(&plain, &over_tls()).unwrap();
    assert_eq!(n.srtp, None);
    assert!(sdp.contains("m=audio 10000 RTP/AVP 0\r\n"), "{sdp}");
    assert!(crypto_lines(&sdp).is_empty(), "{sdp}");

    let required = local(SrtpPolicy::Required(MasterKey::from_bytes(OUR_KEY)));
    let err = answer(&plain, &required).unwrap_err();
    assert_eq!(
        err,
        SdpError::SrtpRequired {
            protos: vec!["RTP/AVP".into()]
        }
    );
    assert!(err.is_not_acceptable());
    assert!(answer(&baresip(), &required).unwrap().0.srtp.is_some());
}

#[test]
fn each_unusable_crypto_line_is_refused_naming_its_fault_but_not_its_key() {
    let good = "AYRopiDFQ6JC8VjaDlTsv2kGv2n8QRzKRcWsAWdg";
    let cases = [
        (
            "1 AES_256_CM_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLQ==".to_string(),
            CryptoError::UnknownSuite("AES_256_CM_HMAC_SHA1_80".into()),
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:not*base64!".into(),
            CryptoError::BadBase64("not*base64!".into()),
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODw==".into(),
            CryptoError::KeyLength(16),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{good}|2^20|1:4"),
            CryptoError::Mki("1:4".into()),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{good}|1:4"),
            CryptoError::Mki("1:4".into()),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{good}|2^x"),
            CryptoError::BadLifetime("2^x".into()),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{good};inline:{good}"),
            CryptoError::SeveralKeys,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{good} UNENCRYPTED_SRTP"),
            CryptoError::SessionParameter("UNENCRYPTED_SRTP".into()),
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 uri:https://keys.example/1".into(),
            CryptoError::NotInline("uri".into()),
        ),
        (
            format!("one AES_CM_128_HMAC_SHA1_80 inline:{good}"),
            CryptoError::BadTag("one".into()),
        ),
        ("1 AES_CM_128_HMAC_SHA1_80".into(), CryptoError::Malformed),
    ];
    for (line, fault) in cases {
        let err = answer(&savp_offer(&format!("a=crypto:{line}\n")), &over_tls()).unwrap_err();
        let SdpError::BadCrypto { faults } = &err else {
            panic!("{line}: {err:?}");
        };
        assert_eq!(faults.len(), 1, "{line}");
        assert_eq!(faults[0].1, fault, "{line}");
        assert!(err.is_not_acceptable(), "488 for {line}");
        let text = err.to_string();
        assert!(text.contains(&fault.to_string()), "{text}");
        assert!(
            !text.contains(good),
            "the key stays out of the message: {text}"
        );
    }
}

#[test]
fn several_unusable_lines_are_all_named_and_a_good_one_after_them_wins() {
    let lines = "a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLQ==\n\
                 a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODw==\n";
    let err = answer(&savp_offer(lines), &over_tls()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(
            "`a=crypto:1 AES_256_CM_HMAC_SHA1_80`: suite AES_256_CM_HMAC_SHA1_80 is not supported"
        ) && text.contains("`a=crypto:2 AES_CM_128_HMAC_SHA1_80`: key and salt are 16 bytes"),
        "{text}"
    );
    let with_good =
        format!("{lines}a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:{BARESIP_80}|1048576\n");
    let (n, sdp) = answer(&savp_offer(&with_good), &over_tls()).unwrap();
    assert_eq!(n.srtp.unwrap().remote, key_of(BARESIP_80));
    assert_eq!(
        crypto_lines(&sdp),
        [format!(
            "a=crypto:7 AES_CM_128_HMAC_SHA1_80 {}",
            our_inline()
        )]
    );
}

#[test]
fn savp_without_a_crypto_line_is_refused() {
    let err = answer(&savp_offer(""), &over_tls()).unwrap_err();
    assert_eq!(err, SdpError::NoCrypto);
    assert!(err.is_not_acceptable());
}

#[test]
fn dtls_srtp_offer_is_refused_as_a_profile_we_do_not_speak() {
    let offer = crlf(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\
         m=audio 4000 UDP/TLS/RTP/SAVPF 0\na=fingerprint:sha-256 AB:CD\n",
    );
    let err = answer(&offer, &over_tls()).unwrap_err();
    assert_eq!(
        err,
        SdpError::NoPlainRtp {
            protos: vec!["UDP/TLS/RTP/SAVPF".into()]
        }
    );
}

#[test]
fn best_effort_pair_of_streams_takes_the_srtp_one_and_rejects_the_plain_one() {
    let offer = crlf(&format!(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\
         m=audio 4000 RTP/AVP 0\n\
         m=audio 4002 RTP/SAVPF 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{BARESIP_80}\n"
    ));
    let (n, sdp) = answer(&offer, &over_tls()).unwrap();
    assert_eq!(n.remote.port(), 4002);
    assert!(n.srtp.is_some());
    assert!(sdp.contains("m=audio 0 RTP/AVP 0\r\n"), "{sdp}");
    assert!(sdp.contains("m=audio 10000 RTP/SAVPF 0\r\n"), "{sdp}");
    // Over plain SIP the same offer is a plain call on the first stream.
    let (plain, _) = answer(&offer, &local(SrtpPolicy::Refused)).unwrap();
    assert_eq!((plain.remote.port(), plain.srtp), (4000, None));
}

#[test]
fn a_reinvite_is_answered_with_the_same_key_of_ours() {
    let ours = over_tls();
    let (first, _) = answer(&baresip(), &ours).unwrap();
    let hold = baresip().replace("a=sendrecv", "a=sendonly");
    let (again, sdp) = answer(&hold, &ours).unwrap();
    assert_eq!(
        first.srtp, again.srtp,
        "same keys: the SRTP contexts carry on"
    );
    assert!(sdp.contains(&our_inline()), "{sdp}");
    assert_eq!(again.local_direction, Direction::RecvOnly);
}

#[test]
fn our_offer_over_tls_is_savp_with_our_key_and_the_answer_keys_the_call() {
    let ours = over_tls();
    let sdp = offer(&ours);
    assert!(sdp.contains("m=audio 10000 RTP/SAVP 0 8 101\r\n"), "{sdp}");
    assert_eq!(
        crypto_lines(&sdp),
        [format!(
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 {}",
            our_inline()
        )]
    );
    assert!(
        !offer(&local(SrtpPolicy::Refused)).contains("a=crypto"),
        "plain SIP: plain offer"
    );

    let phone = |profile: &str, crypto: &str| {
        crlf(&format!(
            "v=0\no=phone 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\n\
             m=audio 5004 {profile} 8 101\na=rtpmap:8 PCMA/8000\n\
             a=rtpmap:101 telephone-event/8000\n{crypto}"
        ))
    };
    let n = accept_answer(
        &phone(
            "RTP/SAVP",
            &format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{BARESIP_80}\n"),
        ),
        &ours,
    )
    .unwrap();
    assert_eq!(n.codec, G711::Alaw);
    assert_eq!(
        n.srtp,
        Some(SrtpKeys {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            local: MasterKey::from_bytes(OUR_KEY),
            remote: key_of(BARESIP_80),
        })
    );
    let other_tag = accept_answer(
        &phone(
            "RTP/SAVP",
            &format!("a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{BARESIP_80}\n"),
        ),
        &ours,
    )
    .unwrap_err();
    assert!(
        other_tag.to_string().contains("not what we offered"),
        "{other_tag}"
    );
    let plain_answer = accept_answer(&phone("RTP/AVP", ""), &ours).unwrap_err();
    assert!(plain_answer.is_not_acceptable(), "{plain_answer}");
}

#[test]
fn a_reoffer_keeps_the_profile_the_call_uses() {
    let ours = over_tls();
    let plain = reoffer(&ours, false);
    assert!(
        plain.contains(" RTP/AVP ") && !plain.contains("a=crypto"),
        "a plain call over TLS stays plain: {plain}"
    );
    let secure = reoffer(&ours, true);
    assert!(
        secure.contains(" RTP/SAVP ") && secure.contains(&our_inline()),
        "{secure}"
    );
}
