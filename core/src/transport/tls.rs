//! The rustls client config: who is trusted (the built-in web PKI roots, or the platform's
//! verifier, plus the app's own roots), pinned keys on top, and a client certificate. Clients
//! with the default trust share one config.

use super::panic_guard::PanicGuard;
use super::pinning::PinnedVerifier;
use crate::config::Config;
use crate::model::TransportError;
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::{Arc, OnceLock};

/// The TLS config for `config`. One config costs about 50 KB (the web PKI roots, and rustls's
/// 256-entry session cache allocated up front), which would dominate an idle connection's
/// memory; so every client with the default trust shares one, as rustls intends (sharing the
/// session cache also lets reconnects to one server resume TLS).
pub(super) fn shared_tls_config(
    config: &Config,
) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    static DEFAULT_TRUST: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let network = &config.network;
    let default_trust = config.builtin_roots
        && config.root_certificates.is_empty()
        && !network.platform_verifier
        && network.pinned_keys.is_empty()
        && network.client_certificate.is_none();
    if !default_trust {
        return Ok(Arc::new(tls_config(config)?));
    }
    if let Some(shared) = DEFAULT_TRUST.get() {
        return Ok(shared.clone());
    }
    let built = Arc::new(tls_config(config)?);
    Ok(DEFAULT_TRUST.get_or_init(|| built).clone())
}

fn tls_config(config: &Config) -> Result<rustls::ClientConfig, TransportError> {
    let tls = |e: rustls::Error| TransportError::Tls(e.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra: Vec<CertificateDer<'static>> =
        config.root_certificates.iter().map(|der| CertificateDer::from(der.clone())).collect();
    let network = &config.network;
    let verifier: Option<Arc<dyn ServerCertVerifier>> = if network.platform_verifier {
        // Keychain on Apple, the Android trust store (user and MDM CAs included), the OS store
        // elsewhere (on Linux: the system bundle, or SSL_CERT_FILE / SSL_CERT_DIR).
        let platform =
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                .map_err(|e| {
                    TransportError::Tls(format!("the platform verifier is not usable: {e}"))
                })?;
        // Guarded: an uninitialised verifier panics on Android (see `panic_guard`).
        Some(Arc::new(PanicGuard::new(Arc::new(platform))))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        if config.builtin_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for der in extra {
            roots.add(der).map_err(|e| {
                TransportError::Tls(format!("a configured root certificate is not usable: {e}"))
            })?;
        }
        // No root at all trusts nobody: every handshake fails, which is what was asked.
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .ok()
            .map(|v| v as Arc<dyn ServerCertVerifier>)
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls)?;
    let builder = match verifier {
        Some(verifier) if !network.pinned_keys.is_empty() => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(PinnedVerifier::new(
                verifier,
                &network.pinned_keys,
            )))
        }
        Some(verifier) => builder.dangerous().with_custom_certificate_verifier(verifier),
        None => builder.with_root_certificates(rustls::RootCertStore::empty()),
    };
    match &network.client_certificate {
        None => Ok(builder.with_no_client_auth()),
        Some(certificate) => {
            let chain =
                certificate.chain.iter().map(|der| CertificateDer::from(der.clone())).collect();
            let key = PrivateKeyDer::try_from(certificate.private_key.clone()).map_err(|e| {
                TransportError::Tls(format!("the client certificate's key is not usable: {e}"))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(tls)
        }
    }
}
