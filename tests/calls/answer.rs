//! A call is answered, and the caller hears the welcome prompt, paced like a real phone line.

use crate::support::server::TestServer;
use crate::support::ua::{decode, intervals_ms, rms, Ua};
use std::time::Duration;

async fn answered_call_plays_paced_audio(mut ua: Ua) {
    ua.connect().await;
    let packets = ua.collect_rtp(Duration::from_millis(2000)).await;
    assert!(
        packets.len() >= 90,
        "about 100 packets in 2 s, got {}",
        packets.len()
    );
    // Consecutive sequence numbers and +160 timestamps: one 20 ms G.711 frame per packet.
    for w in packets.windows(2) {
        let (a, b) = (&w[0].packet.header, &w[1].packet.header);
        assert_eq!(b.sequence_number, a.sequence_number.wrapping_add(1));
        assert_eq!(b.timestamp, a.timestamp.wrapping_add(160));
        assert_eq!(w[1].packet.payload.len(), 160);
    }
    let intervals = intervals_ms(&packets);
    let mean = intervals.iter().sum::<f64>() / intervals.len() as f64;
    assert!((mean - 20.0).abs() < 1.0, "mean interval {mean:.2} ms");
    let worst = intervals.iter().cloned().fold(0.0, f64::max);
    assert!(worst < 60.0, "no gap above 60 ms, worst {worst:.1} ms");
    let pcm = decode(&packets, ua.codec);
    assert!(
        rms(&pcm) > 300.0,
        "the welcome prompt is audible, rms {}",
        rms(&pcm)
    );
    let bye = ua.bye().await;
    assert_eq!(bye.status_code.code(), 200);
}

#[tokio::test]
async fn udp_call_is_answered_with_audible_paced_prompt() {
    let server = TestServer::start().await;
    answered_call_plays_paced_audio(Ua::udp(server.sip).await).await;
}

#[tokio::test]
async fn tcp_call_is_answered_with_audible_paced_prompt() {
    let server = TestServer::start().await;
    answered_call_plays_paced_audio(Ua::tcp(server.sip).await).await;
}

#[tokio::test]
async fn invite_gets_100_trying_before_the_answer() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let offer = ua.offer();
    let invite = ua.request("INVITE", Some(("application/sdp", &offer)), None);
    ua.send_raw(invite.as_bytes()).await;
    let first = ua.response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.status_code.code(), 100);
}

#[tokio::test]
async fn retransmitted_invite_is_absorbed_into_one_call() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let offer = ua.offer();
    let invite = ua.request("INVITE", Some(("application/sdp", &offer)), None);
    ua.send_raw(invite.as_bytes()).await;
    let ok = ua.final_response(Duration::from_secs(5)).await.unwrap();
    // The same INVITE again (same branch): the transaction answers with the same 200, same tag.
    ua.send_raw(invite.as_bytes()).await;
    let again = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(again.status_code.code(), 200);
    assert_eq!(
        again.to_string().lines().find(|l| l.starts_with("To:")),
        ok.to_string().lines().find(|l| l.starts_with("To:"))
    );
    ua.learn(&ok);
    ua.ack().await;
    assert_eq!(ua.bye().await.status_code.code(), 200);
}

#[tokio::test]
async fn unacknowledged_200_is_retransmitted() {
    let server = TestServer::start_with(|c| c.sip.t1_ms = 100).await;
    let mut ua = Ua::udp(server.sip).await;
    let r = ua.invite().await;
    assert_eq!(r.status_code.code(), 200);
    // No ACK: with T1 = 100 ms the 200 comes again after 100, 300, 700 ms…
    let again = ua
        .final_response(Duration::from_secs(2))
        .await
        .expect("200 retransmitted");
    assert_eq!(again.status_code.code(), 200);
    ua.ack().await;
    assert_eq!(ua.bye().await.status_code.code(), 200);
}

#[tokio::test]
async fn pcma_only_caller_gets_pcma() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let port = ua.rtp.local_addr().unwrap().port();
    let offer = format!(
        "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 8 101\r\n\
         a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    let invite = ua.request("INVITE", Some(("application/sdp", &offer)), None);
    ua.send_raw(invite.as_bytes()).await;
    let ok = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ok.status_code.code(), 200);
    ua.learn(&ok);
    assert_eq!(ua.codec, hotline::media::g711::G711::Alaw);
    ua.ack().await;
    let packets = ua.collect_rtp(Duration::from_millis(500)).await;
    assert!(packets.iter().all(|p| p.packet.header.payload_type == 8));
    assert!(!packets.is_empty());
}

#[tokio::test]
async fn offer_without_common_codec_gets_488() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let offer = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n";
    let invite = ua.request("INVITE", Some(("application/sdp", offer)), None);
    ua.send_raw(invite.as_bytes()).await;
    let r = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.status_code.code(), 488);
}

#[tokio::test]
async fn offerless_invite_gets_an_offer_and_the_answer_comes_in_the_ack() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    let invite = ua.request("INVITE", None, None);
    ua.send_raw(invite.as_bytes()).await;
    let ok = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ok.status_code.code(), 200);
    let body = String::from_utf8_lossy(&ok.body).to_string();
    assert!(body.contains("m=audio") && body.contains("PCMU"), "{body}");
    ua.learn(&ok);
    let answer = ua.offer();
    let ack = ua.request("ACK", Some(("application/sdp", &answer)), None);
    ua.send_raw(ack.as_bytes()).await;
    let packets = ua.collect_rtp(Duration::from_millis(500)).await;
    assert!(packets.len() > 10, "media flows after the ACK's answer");
    assert_eq!(ua.bye().await.status_code.code(), 200);
}

#[tokio::test]
async fn hold_reinvite_is_answered_recvonly() {
    let server = TestServer::start().await;
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    let hold = ua
        .offer()
        .replace("a=sendrecv", "a=sendonly")
        .replace("o=test 1 1", "o=test 1 2");
    let reinvite = ua.request("INVITE", Some(("application/sdp", &hold)), None);
    ua.send_raw(reinvite.as_bytes()).await;
    let ok = ua.final_response(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ok.status_code.code(), 200);
    let body = String::from_utf8_lossy(&ok.body).to_string();
    assert!(body.contains("a=recvonly"), "{body}");
    ua.ack().await;
    assert_eq!(ua.bye().await.status_code.code(), 200);
}
