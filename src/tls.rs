//! The server side of TLS, shared by SIP over TLS (port 5061) and HTTPS for the web log: reads a
//! PEM certificate chain and private key and builds a rustls configuration from them.
//!
//! Loaded once at start-up, so a wrong file stops Hotline with an error naming the file rather
//! than failing each handshake later.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a certificate or key cannot be used. Each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS {what} file {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "TLS certificate file {path} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)"
    )]
    NoCertificate { path: PathBuf },
    #[error("TLS certificate file {path}: {message}")]
    BadCertificate { path: PathBuf, message: String },
    #[error(
        "TLS key file {path} holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC): {message}"
    )]
    NoKey { path: PathBuf, message: String },
    #[error("TLS key file {key} does not fit certificate {cert}: {message}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
}

/// Reads `cert` (the server certificate first, then any intermediates) and `key`, and returns a
/// server configuration offering `alpn` (empty for SIP; `http/1.1` for the web log).
pub fn server_config(
    cert: &Path,
    key: &Path,
    alpn: &[&[u8]],
) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_chain(cert)?;
    let key_der = read_key(key)?;
    // An explicit provider: with another crate enabling a second rustls backend in the same
    // build, `ServerConfig::builder()` would panic at run time rather than pick one.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mismatch = |e: rustls::Error| TlsError::Mismatch {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        message: e.to_string(),
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(mismatch)?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read("certificate", path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCertificate {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read("key", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::NoKey {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn identity() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_certificate_and_its_key_make_a_config() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = identity();
        let config = server_config(
            &write(dir.path(), "cert.pem", &cert),
            &write(dir.path(), "key.pem", &key),
            &[b"http/1.1"],
        )
        .unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = identity();
        let key = write(dir.path(), "key.pem", &key);
        let err = server_config(&dir.path().join("nope.pem"), &key, &[]).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }));
        assert!(err.to_string().contains("nope.pem"), "{err}");
    }

    #[test]
    fn a_key_where_the_certificate_belongs_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = identity();
        let key = write(dir.path(), "key.pem", &key);
        let err = server_config(&key, &key, &[]).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
        assert!(err.to_string().contains("key.pem"), "{err}");
    }

    #[test]
    fn a_certificate_where_the_key_belongs_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = identity();
        let cert = write(dir.path(), "cert.pem", &cert);
        let err = server_config(&cert, &cert, &[]).unwrap_err();
        assert!(matches!(err, TlsError::NoKey { .. }), "{err}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = identity();
        let (_, other_key) = identity();
        let err = server_config(
            &write(dir.path(), "cert.pem", &cert),
            &write(dir.path(), "other.pem", &other_key),
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, TlsError::Mismatch { .. }), "{err}");
        assert!(err.to_string().contains("other.pem"), "{err}");
    }
}
