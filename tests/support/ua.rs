//! A small SIP user agent for the integration tests: real sockets (UDP, TCP or TLS for SIP, UDP
//! for RTP), hand-written requests, and measurements of what a caller would hear.

use base64::Engine;
use hotline::media::dtmf::{encode_telephone_event, synthesize_tone, Digit};
use hotline::media::g711::G711;
use hotline::sip::message;
use hotline::sip::transport::framing::StreamFramer;
use rsip::prelude::*;
use rsip::{Request, Response, SipMessage};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;
use webrtc_util::marshal::{Marshal, Unmarshal};

/// The SIP side of the UA.
enum Signalling {
    Udp(UdpSocket),
    Tcp(TcpStream, StreamFramer),
    Tls(
        Box<tokio_rustls::client::TlsStream<TcpStream>>,
        StreamFramer,
    ),
}

/// One RTP packet as received, with its arrival time.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub packet: rtp::packet::Packet,
    pub from: SocketAddr,
}

pub struct Ua {
    sip: Signalling,
    pub rtp: UdpSocket,
    pub server: SocketAddr,
    local: SocketAddr,
    pub call_id: String,
    pub from_tag: String,
    pub to_tag: Option<String>,
    cseq: u32,
    invite_branch: String,
    /// Where the server's RTP is, from its SDP.
    pub remote_rtp: Option<SocketAddr>,
    pub codec: G711,
    pub telephone_event_pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    /// Requests the server sent us (e.g. its BYE), already answered with 200.
    pub server_requests: Vec<Request>,
    /// On an SRTP call (tests/srtp.rs): what our packets are protected with...
    pub srtp_out: Option<webrtc_srtp::context::Context>,
    /// ...and what the server's are checked with; packets that fail are not collected.
    pub srtp_in: Option<webrtc_srtp::context::Context>,
    /// Send every SRTP packet with its authentication tag broken, as a forger would.
    pub srtp_break_tags: bool,
    /// A phone without SRTP: an incoming INVITE offering it gets 488 (and is recorded in
    /// `refused`); the next INVITE is waited for.
    pub refuse_srtp: bool,
    pub refused: Vec<Request>,
}

fn token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

impl Ua {
    pub async fn udp(server: SocketAddr) -> Ua {
        let sip = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = sip.local_addr().unwrap();
        Self::with(Signalling::Udp(sip), local, server).await
    }

    pub async fn tcp(server: SocketAddr) -> Ua {
        let stream = TcpStream::connect(server).await.unwrap();
        let local = stream.local_addr().unwrap();
        Self::with(Signalling::Tcp(stream, StreamFramer::new()), local, server).await
    }

    /// A UA on a TLS connection already made (see `support::tls`).
    pub async fn tls(stream: tokio_rustls::client::TlsStream<TcpStream>) -> Ua {
        let (tcp, _) = stream.get_ref();
        let local = tcp.local_addr().unwrap();
        let server = tcp.peer_addr().unwrap();
        let sip = Signalling::Tls(Box::new(stream), StreamFramer::new());
        Self::with(sip, local, server).await
    }

    async fn with(sip: Signalling, local: SocketAddr, server: SocketAddr) -> Ua {
        let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Ua {
            sip,
            rtp,
            server,
            local,
            call_id: format!("{}@test", token()),
            from_tag: token(),
            to_tag: None,
            cseq: 0,
            invite_branch: String::new(),
            remote_rtp: None,
            codec: G711::Ulaw,
            telephone_event_pt: 101,
            seq: 1,
            ts: 0,
            ssrc: rand::random(),
            server_requests: Vec::new(),
            srtp_out: None,
            srtp_in: None,
            srtp_break_tags: false,
            refuse_srtp: false,
            refused: Vec::new(),
        }
    }

    /// The address our SIP socket is bound to.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// `UDP`, `TCP` or `TLS`, as written in Via.
    pub fn transport(&self) -> &'static str {
        match self.sip {
            Signalling::Udp(_) => "UDP",
            Signalling::Tcp(..) => "TCP",
            Signalling::Tls(..) => "TLS",
        }
    }

    /// The SDP offer this UA makes: PCMU, PCMA, telephone-event 101.
    pub fn offer(&self) -> String {
        let port = self.rtp.local_addr().unwrap().port();
        format!(
            "v=0\r\no=test 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
        )
    }

    /// A request in this UA's dialog (or the INVITE starting it).
    pub fn request(
        &mut self,
        method: &str,
        body: Option<(&str, &str)>,
        branch: Option<&str>,
    ) -> String {
        if method != "ACK" && method != "CANCEL" {
            self.cseq += 1;
        }
        let branch = branch
            .map(str::to_string)
            .unwrap_or_else(|| format!("z9hG4bK{}", token()));
        if method == "INVITE" && self.to_tag.is_none() {
            self.invite_branch = branch.clone();
        }
        let to_tag = self
            .to_tag
            .as_ref()
            .map(|t| format!(";tag={t}"))
            .unwrap_or_default();
        let (ctype, body) = match body {
            Some((t, b)) => (format!("Content-Type: {t}\r\n"), b.to_string()),
            None => (String::new(), String::new()),
        };
        format!(
            "{method} sip:helpdesk@{server} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: \"Test Caller\" <sip:5551234@{local}>;tag={from_tag}\r\n\
             To: <sip:helpdesk@{server}>{to_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:5551234@{local}{contact_transport}>\r\n\
             {ctype}Content-Length: {len}\r\n\r\n{body}",
            server = self.server,
            // Over TLS the Contact says so, as a phone's does (§26.2.2 would have it `sips:`;
            // phones write `;transport=tls`).
            contact_transport = match self.sip {
                Signalling::Tls(..) => ";transport=tls",
                _ => "",
            },
            transport = self.transport(),
            local = self.local,
            from_tag = self.from_tag,
            call_id = self.call_id,
            cseq = self.cseq,
            len = body.len(),
        )
    }

    pub async fn send_raw(&mut self, text: &[u8]) {
        match &mut self.sip {
            Signalling::Udp(s) => {
                s.send_to(text, self.server).await.unwrap();
            }
            Signalling::Tcp(s, _) => s.write_all(text).await.unwrap(),
            Signalling::Tls(s, _) => {
                s.write_all(text).await.unwrap();
                s.flush().await.unwrap();
            }
        }
    }

    /// The next SIP message, answering (with 200) and recording any request the server sends.
    pub async fn recv(&mut self, timeout: Duration) -> Option<SipMessage> {
        let raw = tokio::time::timeout(timeout, self.recv_raw()).await.ok()?;
        // A 400 or 501 echoes the bad header it answers, so only insist on the grammar.
        let msg = message::parse(&raw)
            .or_else(|_| SipMessage::try_from(raw.as_slice()))
            .expect("server sent a parsable SIP message");
        if let SipMessage::Request(req) = &msg {
            if req.method != rsip::Method::Ack {
                let ok = message::response(req, rsip::StatusCode::OK, None);
                self.send_raw(ok.to_string().as_bytes()).await;
            }
            self.server_requests.push(req.clone());
        }
        Some(msg)
    }

    async fn recv_raw(&mut self) -> Vec<u8> {
        match &mut self.sip {
            Signalling::Udp(s) => {
                let mut buf = vec![0u8; 65535];
                let (n, _) = s.recv_from(&mut buf).await.unwrap();
                buf.truncate(n);
                buf
            }
            Signalling::Tcp(s, framer) => loop {
                if let Some(m) = framer.next_message().unwrap() {
                    return m;
                }
                let mut buf = vec![0u8; 16384];
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "server closed the TCP connection");
                framer.push(&buf[..n]);
            },
            Signalling::Tls(s, framer) => loop {
                if let Some(m) = framer.next_message().unwrap() {
                    return m;
                }
                let mut buf = vec![0u8; 16384];
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "server closed the TLS connection");
                framer.push(&buf[..n]);
            },
        }
    }

    /// The next response (requests from the server are answered and kept aside).
    pub async fn response(&mut self, timeout: Duration) -> Option<Response> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left).await? {
                SipMessage::Response(r) => return Some(r),
                SipMessage::Request(_) => continue,
            }
        }
    }

    /// The next final response, skipping provisional ones.
    pub async fn final_response(&mut self, timeout: Duration) -> Option<Response> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let r = self.response(left).await?;
            if r.status_code.code() >= 200 {
                return Some(r);
            }
        }
    }

    /// INVITE with our offer; returns the final response and learns the dialog and media from it.
    pub async fn invite(&mut self) -> Response {
        let offer = self.offer();
        let invite = self.request("INVITE", Some(("application/sdp", &offer)), None);
        self.send_raw(invite.as_bytes()).await;
        let response = self
            .final_response(Duration::from_secs(10))
            .await
            .expect("final response to INVITE");
        self.learn(&response);
        response
    }

    /// Records the To tag and the media address of a 2xx.
    pub fn learn(&mut self, response: &Response) {
        if let Ok(Some(tag)) = response.to_header().and_then(|t| t.tag()) {
            self.to_tag = Some(tag.to_string());
        }
        let sdp = String::from_utf8_lossy(&response.body).to_string();
        let ip = sdp
            .lines()
            .find_map(|l| l.strip_prefix("c=IN IP4 "))
            .map(|s| s.trim().to_string());
        let m = sdp
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))
            .map(|s| s.to_string());
        if let (Some(ip), Some(m)) = (ip, m) {
            let mut parts = m.split_whitespace();
            let port: u16 = parts.next().unwrap().parse().unwrap();
            let _proto = parts.next();
            let first_pt: u8 = parts.next().unwrap().parse().unwrap();
            self.codec = if first_pt == 8 {
                G711::Alaw
            } else {
                G711::Ulaw
            };
            self.remote_rtp = Some(SocketAddr::new(ip.parse().unwrap(), port));
        }
    }

    pub async fn ack(&mut self) {
        let ack = self.request("ACK", None, None);
        self.send_raw(ack.as_bytes()).await;
    }

    /// A caller over UDP who dials in and presses `keys` (RFC 4733) after 200 ms of silence.
    pub async fn dial_keyed(server: SocketAddr, keys: &[char]) -> Ua {
        let mut caller = Ua::udp(server).await;
        caller.connect().await;
        caller.send_silence(200).await;
        for key in keys {
            caller.press_rfc4733(*key).await;
        }
        caller
    }

    /// INVITE, 200, ACK: a connected call.
    pub async fn connect(&mut self) {
        let r = self.invite().await;
        assert_eq!(r.status_code.code(), 200, "call answered: {r}");
        self.ack().await;
    }

    pub async fn bye(&mut self) -> Response {
        let bye = self.request("BYE", None, None);
        self.send_raw(bye.as_bytes()).await;
        self.final_response(Duration::from_secs(10))
            .await
            .expect("response to BYE")
    }

    fn rtp_packet(&mut self, pt: u8, marker: bool, ts: u32, payload: Vec<u8>) -> Vec<u8> {
        let packet = rtp::packet::Packet {
            header: rtp::header::Header {
                version: 2,
                marker,
                payload_type: pt,
                sequence_number: self.seq,
                timestamp: ts,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: payload.into(),
        };
        self.seq = self.seq.wrapping_add(1);
        packet.marshal().unwrap().to_vec()
    }

    async fn send_rtp(&mut self, bytes: &[u8]) {
        let to = self.remote_rtp.expect("media address known");
        if let Some(srtp) = &mut self.srtp_out {
            let mut protected = srtp.encrypt_rtp(bytes).unwrap().to_vec();
            if self.srtp_break_tags {
                *protected.last_mut().unwrap() ^= 0x01;
            }
            self.rtp.send_to(&protected, to).await.unwrap();
            return;
        }
        self.rtp.send_to(bytes, to).await.unwrap();
    }

    /// Sends 8 kHz audio as 20 ms G.711 packets, paced in real time.
    pub async fn send_audio(&mut self, pcm: &[i16]) {
        let start = Instant::now();
        for (n, frame) in pcm.chunks(160).enumerate() {
            let mut payload = Vec::with_capacity(160);
            self.codec.encode(frame, &mut payload);
            payload.resize(160, self.codec.silence());
            let pt = self.codec.payload_type();
            let ts = self.ts;
            let bytes = self.rtp_packet(pt, n == 0, ts, payload);
            self.send_rtp(&bytes).await;
            self.ts = self.ts.wrapping_add(160);
            tokio::time::sleep_until(start + Duration::from_millis(20 * (n as u64 + 1))).await;
        }
    }

    /// Sends silence for `ms` milliseconds (keeps the server's RTP timeout away).
    pub async fn send_silence(&mut self, ms: u32) {
        self.send_audio(&vec![0i16; (ms * 8) as usize]).await;
    }

    /// An RFC 4733 key press: 5 packets of 20 ms, then the end packet three times (§2.5.1.4).
    pub async fn press_rfc4733(&mut self, digit: char) {
        let d = Digit::from_char(digit).expect("DTMF digit");
        let ts = self.ts;
        let pt = self.telephone_event_pt;
        for i in 0..5u16 {
            let payload = encode_telephone_event(d, false, 10, 160 * (i + 1)).to_vec();
            let bytes = self.rtp_packet(pt, i == 0, ts, payload);
            self.send_rtp(&bytes).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for _ in 0..3 {
            let payload = encode_telephone_event(d, true, 10, 960).to_vec();
            let bytes = self.rtp_packet(pt, false, ts, payload);
            self.send_rtp(&bytes).await;
        }
        self.ts = self.ts.wrapping_add(960 + 160);
        self.send_silence(100).await;
    }

    /// An in-band key press: 100 ms of the DTMF tone pair at -10 dBm0 per tone, then 100 ms silence.
    pub async fn press_inband(&mut self, digit: char) {
        let d = Digit::from_char(digit).expect("DTMF digit");
        let mut tone = synthesize_tone(d, 100, -10.0);
        tone.extend(std::iter::repeat_n(0i16, 800));
        self.send_audio(&tone).await;
    }

    /// A phone that sends a key both ways at once: RFC 4733 events interleaved with the tone.
    pub async fn press_both(&mut self, digit: char) {
        let d = Digit::from_char(digit).expect("DTMF digit");
        let tone = synthesize_tone(d, 100, -10.0);
        let event_ts = self.ts;
        let te = self.telephone_event_pt;
        let start = Instant::now();
        for (i, frame) in tone.chunks(160).enumerate() {
            let mut payload = Vec::with_capacity(160);
            self.codec.encode(frame, &mut payload);
            let pt = self.codec.payload_type();
            let ts = self.ts;
            let audio = self.rtp_packet(pt, false, ts, payload);
            self.send_rtp(&audio).await;
            let end = i == 4;
            let event = encode_telephone_event(d, end, 10, 160 * (i as u16 + 1)).to_vec();
            let packet = self.rtp_packet(te, i == 0, event_ts, event);
            for _ in 0..(if end { 3 } else { 1 }) {
                self.send_rtp(&packet).await;
            }
            self.ts = self.ts.wrapping_add(160);
            tokio::time::sleep_until(start + Duration::from_millis(20 * (i as u64 + 1))).await;
        }
        self.send_silence(200).await;
    }

    /// Every RTP packet that arrives during `duration`.
    pub async fn collect_rtp(&mut self, duration: Duration) -> Vec<Received> {
        let deadline = Instant::now() + duration;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 2048];
        while let Ok(Ok((n, from))) =
            tokio::time::timeout_at(deadline, self.rtp.recv_from(&mut buf)).await
        {
            let plain = match &mut self.srtp_in {
                Some(srtp) => match srtp.decrypt_rtp(&buf[..n]) {
                    Ok(plain) => plain.to_vec(),
                    Err(_) => continue,
                },
                None => buf[..n].to_vec(),
            };
            let mut slice = &plain[..];
            if let Ok(packet) = rtp::packet::Packet::unmarshal(&mut slice) {
                out.push(Received {
                    at: Instant::now(),
                    packet,
                    from,
                });
            }
        }
        out
    }

    /// Acts as a technician's phone: waits for the server's INVITE, answers it at once (180,
    /// then 200 with PCMU and telephone-event) and waits for its ACK. Learns where to send RTP
    /// from the INVITE's offer; returns the INVITE.
    pub async fn answer_incoming(&mut self, timeout: Duration) -> Request {
        let deadline = Instant::now() + timeout;
        let invite = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let r = self.next_invite(left).await.expect("the server's INVITE");
            if self.refuse_srtp && srtp_offer(&String::from_utf8_lossy(&r.body)).is_some() {
                self.respond(&r, rsip::StatusCode::NotAcceptableHere).await;
                self.refused.push(r);
                continue;
            }
            break r;
        };
        let offer = String::from_utf8_lossy(&invite.body).to_string();
        let ip = offer
            .lines()
            .find_map(|l| l.strip_prefix("c=IN IP4 "))
            .expect("c= in the offer")
            .trim()
            .to_string();
        let port: u16 = offer
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))
            .and_then(|m| m.split_whitespace().next())
            .expect("m=audio in the offer")
            .parse()
            .unwrap();
        self.remote_rtp = Some(SocketAddr::new(ip.parse().unwrap(), port));
        self.codec = G711::Ulaw;
        let tag = token();
        let ringing = message::response(&invite, rsip::StatusCode::Ringing, Some(&tag));
        self.send_raw(ringing.to_string().as_bytes()).await;
        let rtp_port = self.rtp.local_addr().unwrap().port();
        // An SRTP offer (a TLS leg) is answered in kind: its key for what we receive, a key of
        // ours, under its tag and suite, for what we send.
        let (profile, crypto) = match srtp_offer(&offer) {
            Some((line, their_key)) => {
                let ours: [u8; 30] = rand::random();
                self.srtp_in = Some(srtp_context(&their_key, true));
                self.srtp_out = Some(srtp_context(&ours, false));
                let crypto = format!("{line} inline:{}\r\n", B64.encode(ours));
                ("RTP/SAVP", crypto)
            }
            None => ("RTP/AVP", String::new()),
        };
        let answer = format!(
            "v=0\r\no=test 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {rtp_port} {profile} 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n{crypto}"
        );
        let mut ok = message::response(&invite, rsip::StatusCode::OK, Some(&tag));
        ok.headers.push(rsip::Header::Contact(
            format!("<sip:phone@{}>", self.local).into(),
        ));
        message::set_body(
            &mut ok.headers,
            &mut ok.body,
            "application/sdp",
            answer.into_bytes(),
        );
        self.send_raw(ok.to_string().as_bytes()).await;
        // Our requests in this dialog (a BYE) come from our side of it: our tag in From, the
        // server's in To (§12.2.1.1).
        self.call_id = invite.call_id_header().unwrap().value().to_string();
        self.from_tag = tag;
        self.to_tag = invite
            .from_header()
            .unwrap()
            .tag()
            .unwrap()
            .map(|t| t.to_string());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left).await.expect("the ACK for our 200") {
                SipMessage::Request(r) if r.method == rsip::Method::Ack => break,
                _ => {}
            }
        }
        invite
    }

    /// Waits for the server's BYE (answered with 200 by `recv`).
    /// The next INVITE the server sends, not answered (other messages are skipped); `None`
    /// when none comes within `timeout`.
    pub async fn next_invite(&mut self, timeout: Duration) -> Option<Request> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let raw = tokio::time::timeout(left, self.recv_raw()).await.ok()?;
            if let Ok(SipMessage::Request(r)) = message::parse(&raw) {
                if r.method == rsip::Method::Invite {
                    return Some(r);
                }
            }
        }
    }

    /// Answers `request` with a final `status` (a To tag of our own).
    pub async fn respond(&mut self, request: &Request, status: rsip::StatusCode) {
        let response = message::response(request, status, Some(&token()));
        self.send_raw(response.to_string().as_bytes()).await;
    }

    pub async fn expect_bye(&mut self, timeout: Duration) -> Request {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self
                .server_requests
                .iter()
                .position(|r| r.method == rsip::Method::Bye)
            {
                return self.server_requests.remove(pos);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            self.recv(left).await.expect("server's BYE");
        }
    }
}

/// Decodes received G.711 packets to linear PCM.
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An AES_CM_128_HMAC_SHA1_80 context for `key` (16-byte key, 14-byte salt).
pub fn srtp_context(key: &[u8], replay_protection: bool) -> webrtc_srtp::context::Context {
    webrtc_srtp::context::Context::new(
        &key[..16],
        &key[16..],
        webrtc_srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_80,
        replay_protection.then(|| webrtc_srtp::option::srtp_replay_protection(64)),
        None,
    )
    .unwrap()
}

/// For an RTP/SAVP offer: its `a=crypto:TAG AES_CM_128_HMAC_SHA1_80` part and its key.
fn srtp_offer(sdp: &str) -> Option<(String, Vec<u8>)> {
    if !sdp
        .lines()
        .any(|l| l.starts_with("m=audio ") && l.contains(" RTP/SAVP "))
    {
        return None;
    }
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=crypto:") && l.contains(" AES_CM_128_HMAC_SHA1_80 "))
        .expect("an AES_CM_128_HMAC_SHA1_80 key in the SRTP offer");
    let (head, inline) = line.split_once(" inline:").unwrap();
    let key = B64.decode(inline.trim()).expect("base64 key");
    assert_eq!(key.len(), 30, "{line}");
    Some((head.to_string(), key))
}

pub fn decode(packets: &[Received], codec: G711) -> Vec<i16> {
    let mut pcm = Vec::new();
    for r in packets
        .iter()
        .filter(|r| r.packet.header.payload_type == codec.payload_type())
    {
        codec.decode(&r.packet.payload, &mut pcm);
    }
    pcm
}

/// Root-mean-square level of PCM samples.
pub fn rms(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    (pcm.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / pcm.len() as f64).sqrt()
}

/// Inter-arrival times between consecutive packets, in milliseconds.
pub fn intervals_ms(packets: &[Received]) -> Vec<f64> {
    packets
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_secs_f64() * 1000.0)
        .collect()
}
