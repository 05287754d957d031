//! A certificate verifier that turns a panic into a TLS error.
//!
//! The platform verifier calls into the OS (the Keychain, Android's trust manager through JNI).
//! On Android it panics when the app has not initialised it, and a panic in a handshake would
//! end the driver's task: the client would never connect and never say why. Behind this guard
//! the handshake fails with an error the app sees (`TransportError::Tls`) and the client goes on
//! retrying with its backoff, as for any other TLS failure.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error, SignatureScheme};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Wraps a verifier; every call that panics fails instead.
#[derive(Debug)]
pub(super) struct PanicGuard {
    inner: Arc<dyn ServerCertVerifier>,
}

impl PanicGuard {
    pub(super) fn new(inner: Arc<dyn ServerCertVerifier>) -> Self {
        Self { inner }
    }
}

/// Runs `f`; a panic becomes a TLS error naming what failed.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Err(Error::General(format!("the platform verifier failed while {what}: {why}")))
    })
}

impl ServerCertVerifier for PanicGuard {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        guarded("verifying the certificate", || {
            self.inner.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        guarded("checking a signature", || self.inner.verify_tls12_signature(message, cert, dss))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        guarded("checking a signature", || self.inner.verify_tls13_signature(message, cert, dss))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // No schemes: the handshake then fails with an error instead of the task ending.
        guarded("listing its schemes", || Ok(self.inner.supported_verify_schemes()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verifier as an uninitialised platform verifier behaves: it panics.
    #[derive(Debug)]
    struct Panicking;

    impl ServerCertVerifier for Panicking {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            panic!("Expect rustls-platform-verifier to be initialized")
        }

        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            panic!("not initialized")
        }

        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            panic!("not initialized")
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            panic!("not initialized")
        }
    }

    #[test]
    fn a_panicking_verifier_fails_the_handshake_with_an_error_instead() {
        let guard = PanicGuard::new(Arc::new(Panicking));
        let name = ServerName::try_from("example.com").unwrap_or_else(|e| panic!("{e}"));
        let cert = CertificateDer::from(vec![1, 2, 3]);
        let verdict = guard.verify_server_cert(&cert, &[], &name, &[], UnixTime::now());
        let Err(Error::General(why)) = verdict else { panic!("an error, got {verdict:?}") };
        assert!(why.contains("Expect rustls-platform-verifier to be initialized"), "{why}");
        assert!(guard.supported_verify_schemes().is_empty());
    }
}
