//! What a phone knowing its password answers to Hotline's digest challenge, and a REGISTER
//! over TLS that answers it.

use super::ua::Ua;
use hotline::sip::digest::{Algorithm, Credentials, Ha1Set};
use rsip::{Header, Response};
use std::time::Duration;

/// The `WWW-Authenticate` (or `Proxy-Authenticate`) of `response` that offers MD5.
pub fn md5_challenge(response: &Response) -> String {
    response
        .headers
        .iter()
        .find_map(|h| match h {
            Header::WwwAuthenticate(v) if v.to_string().contains("algorithm=MD5") => {
                Some(v.to_string())
            }
            Header::ProxyAuthenticate(v) if v.to_string().contains("algorithm=MD5") => {
                Some(v.to_string())
            }
            _ => None,
        })
        .expect("an MD5 challenge")
}

/// The quoted parameter `name` of a challenge's text (empty when it has none).
pub fn challenge_param(challenge: &str, name: &str) -> String {
    challenge
        .split(&format!("{name}=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// The `Authorization` value for a REGISTER answering `challenge` (an MD5 challenge's text)
/// as `user` with `password`.
pub fn md5_register_authorization(challenge: &str, user: &str, password: &str) -> String {
    let param = |name: &str| challenge_param(challenge, name);
    let realm = param("realm");
    let mut c = Credentials {
        username: user.into(),
        realm: realm.clone(),
        nonce: param("nonce"),
        uri: "sip:127.0.0.1".into(),
        response: String::new(),
        algorithm: Algorithm::Md5,
        cnonce: "0a4f113b".into(),
        nc_text: "00000001".into(),
        nc: 1,
    };
    let ha1 = Ha1Set::from_password(user, &realm, password);
    c.response = c.expected_response(ha1.get(Algorithm::Md5), "REGISTER");
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", \
         algorithm=MD5, cnonce=\"{}\", qop=auth, nc={}",
        c.nonce, c.uri, c.response, c.cnonce, c.nc_text
    )
}

/// REGISTER over TLS with digest authentication (MD5); returns the final response.
pub async fn register_over_tls(ua: &mut Ua, user: &str, password: &str, contact: &str) -> Response {
    let mut authorization = None;
    let call_id = format!("{:016x}@phone", rand::random::<u64>());
    for cseq in 1..=2 {
        let mut text = format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/TLS {local};branch=z9hG4bK{branch:016x};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{user}@127.0.0.1>;tag=r{cseq}\r\n\
             To: <sip:{user}@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\nContact: {contact}\r\nExpires: 600\r\n",
            local = ua.local(),
            branch = rand::random::<u64>(),
        );
        if let Some(a) = &authorization {
            text.push_str(&format!("Authorization: {a}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        ua.send_raw(text.as_bytes()).await;
        let response = ua
            .final_response(Duration::from_secs(5))
            .await
            .expect("answer to REGISTER");
        if response.status_code.code() != 401 || authorization.is_some() {
            return response;
        }
        let challenge = md5_challenge(&response);
        authorization = Some(md5_register_authorization(&challenge, user, password));
    }
    unreachable!()
}
