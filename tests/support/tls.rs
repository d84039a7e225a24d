//! A throw-away PKI for the TLS tests: a CA and a server certificate for 127.0.0.1,
//! localhost and hotline.test (a name the browser tests map to loopback) signed by it, made afresh for each test (nothing to expire in the repository), and
//! a rustls client that trusts that CA and nothing else.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub struct TestPki {
    /// The CA certificate (PEM) clients trust.
    pub ca: PathBuf,
    /// The server's certificate (PEM) and its key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestPki {
    /// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir`.
    pub fn new(dir: &Path) -> TestPki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Hotline test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).unwrap();

        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(
            ["127.0.0.1", "localhost", "hotline.test"]
                .map(String::from)
                .to_vec(),
        )
        .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "hotline.test");
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();

        let pki = TestPki {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&pki.ca, ca.pem()).unwrap();
        std::fs::write(&pki.cert, cert.pem()).unwrap();
        std::fs::write(&pki.key, key.serialize_pem()).unwrap();
        pki
    }

    /// The server key's SPKI pin, base64 of the SHA-256 of its SubjectPublicKeyInfo: what
    /// Chromium's `--ignore-certificate-errors-spki-list` takes to accept this certificate (and
    /// no other) without installing the CA.
    pub fn spki_sha256(&self) -> String {
        use sha2::Digest;
        let key = KeyPair::from_pem(&std::fs::read_to_string(&self.key).unwrap()).unwrap();
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(key.public_key_der()))
    }

    /// A client configuration trusting only this CA, offering `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// A TLS connection to `addr`, verifying the server's certificate for 127.0.0.1.
    pub async fn connect(&self, addr: SocketAddr, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
        self.try_connect(addr, alpn)
            .await
            .expect("TLS connection to the server")
    }

    pub async fn try_connect(
        &self,
        addr: SocketAddr,
        alpn: &[&[u8]],
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::IpAddress(addr.ip().into());
        TlsConnector::from(self.client_config(alpn))
            .connect(name, tcp)
            .await
    }
}

/// A server with SIP over TLS on an ephemeral port, certificate from `pki`.
pub async fn tls_server(
    pki: &TestPki,
    adjust: impl FnOnce(&mut hotline::config::Config),
) -> super::server::TestServer {
    let (cert, key) = (pki.cert.clone(), pki.key.clone());
    super::server::TestServer::start_with(|c| {
        c.sip.tls_listen = Some("127.0.0.1:0".parse().unwrap());
        c.sip.tls_cert = Some(cert);
        c.sip.tls_key = Some(key);
        adjust(c);
    })
    .await
}
