//! What a phone knowing its password answers to Hotline's digest challenge.

use hotline::sip::digest::{Algorithm, Credentials, Ha1Set};
use rsip::{Header, Response};

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
