//! The rustls client config: the trust store (the web PKI roots and the app's own roots), shared
//! between clients with the default trust.

use crate::config::Config;
use crate::model::TransportError;
use std::sync::{Arc, OnceLock};

/// The TLS config for `config`. One config costs about 50 KB (the web PKI roots, and rustls's
/// 256-entry session cache allocated up front), which would dominate an idle connection's
/// memory; so every client with the default trust shares one, as rustls intends (sharing the
/// session cache also lets reconnects to one server resume TLS).
pub(super) fn shared_tls_config(
    config: &Config,
) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    static DEFAULT_TRUST: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if !(config.builtin_roots && config.root_certificates.is_empty()) {
        return Ok(Arc::new(tls_config(config)?));
    }
    if let Some(shared) = DEFAULT_TRUST.get() {
        return Ok(shared.clone());
    }
    let built = Arc::new(tls_config(config)?);
    Ok(DEFAULT_TRUST.get_or_init(|| built).clone())
}

fn tls_config(config: &Config) -> Result<rustls::ClientConfig, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    if config.builtin_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for der in &config.root_certificates {
        roots.add(rustls_pki_types::CertificateDer::from(der.clone())).map_err(|e| {
            TransportError::Tls(format!("a configured root certificate is not usable: {e}"))
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
