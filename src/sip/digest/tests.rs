use super::*;
use std::net::Ipv4Addr;

const REALM: &str = "hotline.test";

/// What a phone knowing `password` sends in answer to `challenge`.
fn answer(challenge: &str, algorithm: Algorithm, user: &str, password: &str, nc: u32) -> String {
    let nonce = challenge
        .split("nonce=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let ha1 = Ha1Set::from_password(user, REALM, password);
    let mut c = Credentials {
        username: user.into(),
        realm: REALM.into(),
        nonce: nonce.into(),
        uri: "sip:hotline.test".into(),
        response: String::new(),
        algorithm,
        cnonce: "0a4f113b".into(),
        nc_text: format!("{nc:08x}"),
        nc,
    };
    c.response = c.expected_response(ha1.get(algorithm), "REGISTER");
    format!(
        "Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{}\", \
         response=\"{}\", algorithm={algorithm}, cnonce=\"{}\", qop=auth, nc={}",
        c.uri, c.response, c.cnonce, c.nc_text
    )
}

struct Fixture {
    auth: DigestAuthenticator,
    nonces: NonceStore,
    bob: Ha1Set,
    t0: Instant,
}

fn fixture() -> Fixture {
    Fixture {
        auth: DigestAuthenticator::new(REALM, &Algorithm::DEFAULT_OFFER),
        nonces: NonceStore::new(Duration::from_secs(300), 1000),
        bob: Ha1Set::from_password("bob", REALM, "s3cret"),
        t0: Instant::now(),
    }
}

impl Fixture {
    fn check(&mut self, header: &str, known: bool, at: Duration) -> Verdict {
        let c = Credentials::parse(header).unwrap();
        let stored = known.then_some(&self.bob);
        self.auth
            .verify("REGISTER", &c, stored, &mut self.nonces, self.t0 + at)
    }
}

#[test]
fn rfc_7616_example_responses_for_md5_and_sha256() {
    // RFC 7616 §3.9.1 (Mufasa / "Circle of Life").
    let ha1 = Ha1Set::from_password("Mufasa", "http-auth@example.org", "Circle of Life");
    let mut c = Credentials {
        username: "Mufasa".into(),
        realm: "http-auth@example.org".into(),
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
        uri: "/dir/index.html".into(),
        response: String::new(),
        algorithm: Algorithm::Md5,
        cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ".into(),
        nc_text: "00000001".into(),
        nc: 1,
    };
    assert_eq!(
        c.expected_response(&ha1.md5, "GET"),
        "8ca523f5e9506fed4657c9700eebdbec"
    );
    c.algorithm = Algorithm::Sha256;
    assert_eq!(
        c.expected_response(&ha1.sha256, "GET"),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
}

#[test]
fn challenge_offers_md5_then_sha256_with_qop_auth_unless_configured() {
    let mut f = fixture();
    let c = f.auth.challenge(&mut f.nonces, f.t0, false);
    assert_eq!(c.len(), 2);
    assert!(c[0].contains("algorithm=MD5"), "{}", c[0]);
    assert!(c[1].contains("algorithm=SHA-256"), "{}", c[1]);
    assert!(c
        .iter()
        .all(|h| h.contains("qop=\"auth\"") && !h.contains("stale")));
    let sha_only = DigestAuthenticator::new(REALM, &[Algorithm::Sha256]);
    let c = sha_only.challenge(&mut f.nonces, f.t0, false);
    assert_eq!(c.len(), 1);
    let md5 = answer(&c[0], Algorithm::Md5, "bob", "s3cret", 1);
    let creds = Credentials::parse(&md5).unwrap();
    assert_eq!(
        sha_only.verify("REGISTER", &creds, Some(&f.bob), &mut f.nonces, f.t0),
        Verdict::Failed,
        "an algorithm not offered is refused"
    );
}

#[test]
fn right_password_is_accepted_with_either_algorithm() {
    let mut f = fixture();
    for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
        let c = f.auth.challenge(&mut f.nonces, f.t0, false);
        let header = answer(&c[1], algorithm, "bob", "s3cret", 1);
        assert_eq!(
            f.check(&header, true, Duration::from_secs(1)),
            Verdict::Authenticated { user: "bob".into() },
            "{algorithm}"
        );
    }
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    let mut f = fixture();
    let c = f.auth.challenge(&mut f.nonces, f.t0, false);
    let wrong = answer(&c[0], Algorithm::Md5, "bob", "guess", 1);
    assert_eq!(f.check(&wrong, true, Duration::ZERO), Verdict::Failed);
    let c = f.auth.challenge(&mut f.nonces, f.t0, false);
    let unknown = answer(&c[0], Algorithm::Md5, "mallory", "s3cret", 1);
    assert_eq!(f.check(&unknown, false, Duration::ZERO), Verdict::Failed);
}

#[test]
fn a_replayed_nonce_count_fails_and_a_higher_one_passes() {
    let mut f = fixture();
    let c = f.auth.challenge(&mut f.nonces, f.t0, false);
    let first = answer(&c[0], Algorithm::Sha256, "bob", "s3cret", 1);
    let ok = Verdict::Authenticated { user: "bob".into() };
    assert_eq!(f.check(&first, true, Duration::ZERO), ok);
    assert_eq!(f.check(&first, true, Duration::ZERO), Verdict::Failed);
    let second = answer(&c[0], Algorithm::Sha256, "bob", "s3cret", 2);
    assert_eq!(f.check(&second, true, Duration::ZERO), ok);
}

#[test]
fn an_expired_nonce_with_the_right_password_is_stale() {
    let mut f = fixture();
    let c = f.auth.challenge(&mut f.nonces, f.t0, false);
    let late = answer(&c[0], Algorithm::Md5, "bob", "s3cret", 1);
    assert_eq!(
        f.check(&late, true, Duration::from_secs(300)),
        Verdict::Stale
    );
    let wrong_late = answer(&c[0], Algorithm::Md5, "bob", "nope", 1);
    assert_eq!(
        f.check(&wrong_late, true, Duration::from_secs(300)),
        Verdict::Failed
    );
    let stale = f.auth.challenge(&mut f.nonces, f.t0, true);
    assert!(stale.iter().all(|h| h.ends_with(", stale=true")));
}

#[test]
fn a_nonce_we_never_issued_is_stale_not_accepted() {
    let mut f = fixture();
    let forged = answer("nonce=\"made-up\"", Algorithm::Md5, "bob", "s3cret", 1);
    assert_eq!(f.check(&forged, true, Duration::ZERO), Verdict::Stale);
}

#[test]
fn the_nonce_store_stays_bounded() {
    let mut nonces = NonceStore::new(Duration::from_secs(300), 3);
    let t0 = Instant::now();
    for _ in 0..10 {
        nonces.issue(t0);
    }
    assert_eq!(nonces.len(), 3);
}

#[test]
fn credentials_parse_quoted_and_bare_values_and_name_what_is_missing() {
    let c = Credentials::parse(
        "Digest username=\"bob\",realm=\"r\", nonce=\"n,1\", uri=\"sip:r\", response=\"ABCD\", \
         cnonce=\"c\", nc=0000000a, qop=auth",
    )
    .unwrap();
    assert_eq!(c.nonce, "n,1");
    assert_eq!(c.nc, 10);
    assert_eq!(c.algorithm, Algorithm::Md5);
    assert_eq!(c.response, "abcd");
    assert_eq!(
        Credentials::parse("Digest username=\"bob\", qop=auth, nc=00000001"),
        Err(DigestError::Missing("realm"))
    );
    assert_eq!(
        Credentials::parse("Basic Ym9i"),
        Err(DigestError::NotDigest)
    );
    assert_eq!(
        Credentials::parse("Digest username=\"bob\", algorithm=SHA-512-256"),
        Err(DigestError::Algorithm("SHA-512-256".into()))
    );
}

#[test]
fn failures_block_a_source_then_a_user_name_until_the_window_passes() {
    let limits = FailureLimits {
        per_source: 3,
        per_user: 5,
        window: Duration::from_secs(60),
    };
    let mut limiter = FailureLimiter::new(limits);
    let t0 = Instant::now();
    let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    for _ in 0..3 {
        assert!(!limiter.is_blocked(a, Some("bob"), t0));
        limiter.failed(a, Some("bob"), t0);
    }
    assert!(limiter.is_blocked(a, Some("alice"), t0), "source blocked");
    assert_eq!(limiter.retry_after(a, None, t0), Duration::from_secs(60));
    // Another address guessing bob's password is stopped by the per-user count.
    let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    limiter.failed(b, Some("bob"), t0);
    limiter.failed(b, Some("bob"), t0);
    assert!(limiter.is_blocked(b, Some("bob"), t0));
    assert!(!limiter.is_blocked(b, Some("carol"), t0));
    assert!(!limiter.is_blocked(a, Some("bob"), t0 + Duration::from_secs(60)));
}
