//! Connecting to PostgreSQL with libpq's `sslmode` and `sslrootcert` honoured, over rustls:
//! `disable` (plain), `prefer` (TLS when the server offers it, plain otherwise), `require` (TLS,
//! the certificate not checked), `verify-ca` (TLS, the chain checked against the roots),
//! `verify-full` (the chain and the host name). `require` and stronger never fall back to plain
//! text. The roots are `sslrootcert` (a PEM file) or, without it or with `system`, the system's.

use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme,
};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain text.
    Disable,
    /// TLS when the server offers it.
    Prefer,
    /// TLS, without checking the certificate.
    Require,
    /// TLS, the certificate chain checked against the roots.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

/// A database URL with its TLS parameters taken out (tokio-postgres knows only some of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL without `sslmode` and `sslrootcert`.
    pub url: String,
    /// The mode (libpq's default: `prefer`).
    pub mode: SslMode,
    /// `sslrootcert`, if given.
    pub root_cert: Option<String>,
}

/// Splits `sslmode` and `sslrootcert` out of `url`.
///
/// # Errors
/// An `sslmode` libpq does not know (`allow` is refused too: it would downgrade silently).
pub fn target(url: &str) -> Result<Target, ConnectionError> {
    let (base, query) = url.split_once('?').map_or((url, ""), |(base, query)| (base, query));
    let mut mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                mode = match value {
                    "disable" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(ConnectionError::InvalidConnectionUrl(format!(
                            "sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full"
                        )));
                    }
                }
            }
            "sslrootcert" => root_cert = Some(percent_decoded(value)),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok(Target { url, mode, root_cert })
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let decoded = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok()))
            .flatten();
        match decoded {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens a connection to `url` as its `sslmode` says.
///
/// # Errors
/// A bad URL, a refused handshake (wrong CA, wrong host name), or the server unreachable.
pub async fn establish(url: &str) -> Result<AsyncPgConnection, ConnectionError> {
    let target = target(url)?;
    let mut config: tokio_postgres::Config =
        target.url.parse().map_err(|e: tokio_postgres::Error| ConnectionError::InvalidConnectionUrl(e.to_string()))?;
    let setup = |e: tokio_postgres::Error| ConnectionError::BadConnection(with_causes(&e));
    if target.mode == SslMode::Disable {
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(setup)?;
        return AsyncPgConnection::try_from_client_and_connection(client, connection).await;
    }
    config.ssl_mode(if target.mode == SslMode::Prefer {
        tokio_postgres::config::SslMode::Prefer
    } else {
        tokio_postgres::config::SslMode::Require
    });
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(client_config(&target)?);
    let (client, connection) = config.connect(tls).await.map_err(setup)?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// The error and its causes ("error performing TLS handshake: invalid peer certificate: …"), so
/// an operator sees why a connection was refused.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(target: &Target) -> Result<RootCertStore, ConnectionError> {
    let mut roots = RootCertStore::empty();
    match target.root_cert.as_deref() {
        Some(path) if path != "system" => {
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|e| ConnectionError::BadConnection(format!("sslrootcert {path}: {e}")))?;
            for certificate in certificates {
                let certificate =
                    certificate.map_err(|e| ConnectionError::BadConnection(format!("sslrootcert {path}: {e}")))?;
                roots
                    .add(certificate)
                    .map_err(|e| ConnectionError::BadConnection(format!("sslrootcert {path}: {e}")))?;
            }
        }
        _ => {
            for certificate in rustls_native_certs::load_native_certs().certs {
                let _unusable = roots.add(certificate);
            }
        }
    }
    Ok(roots)
}

fn client_config(target: &Target) -> Result<ClientConfig, ConnectionError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = match target.mode {
        SslMode::Prefer | SslMode::Require | SslMode::Disable => {
            Arc::new(Lenient { chain: None, provider: provider() })
        }
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots(target)?), provider())
                .build()
                .map_err(|e| ConnectionError::BadConnection(format!("TLS roots: {e}")))?;
            if target.mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(Lenient { chain: Some(webpki), provider: provider() })
            }
        }
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// `require` (and `prefer`): the certificate is not checked, as libpq does; `verify-ca`: the
/// chain must lead to a trusted root, the host name is not compared. Either way the handshake
/// signatures are checked.
#[derive(Debug)]
struct Lenient {
    /// The chain check of `verify-ca`; `None` for `require`.
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_parameters_are_taken_out_of_the_url() {
        let split =
            target("postgres://u@db:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(split.url, "postgres://u@db:5432/app?application_name=x");
        assert_eq!(split.mode, SslMode::VerifyFull);
        assert_eq!(split.root_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(target("postgres://u@db/app").map(|t| t.mode).ok(), Some(SslMode::Prefer));
        assert!(target("postgres://u@db/app?sslmode=allow").is_err());
    }
}
