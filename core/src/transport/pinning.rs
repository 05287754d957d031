//! Public key pinning: a server is accepted only if its chain is trusted (by the verifier
//! underneath) and one certificate it presents carries a pinned key. A pin is the SHA-256 of a
//! certificate's DER SubjectPublicKeyInfo, written `sha256/<base64>` as OkHttp does, so pins
//! survive certificate renewals that keep the key.

use crate::config::pin_digest;
use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;

/// The pin of a DER certificate's public key (`sha256/<base64>`), or `None` if the bytes are not
/// a certificate. What to put in [`crate::Config::with_pinned_key`] for a server's certificate.
///
/// ```
/// assert_eq!(tether_core::transport::spki_pin(b"not a certificate"), None);
/// ```
pub fn spki_pin(certificate_der: &[u8]) -> Option<String> {
    let digest = spki_digest(certificate_der)?;
    Some(format!("sha256/{}", base64::engine::general_purpose::STANDARD.encode(digest)))
}

fn spki_digest(certificate_der: &[u8]) -> Option<[u8; 32]> {
    let spki = subject_public_key_info(certificate_der)?;
    ring::digest::digest(&ring::digest::SHA256, spki).as_ref().try_into().ok()
}

/// One DER element: its tag, its content, all of its bytes, and what follows it.
struct Element<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
    rest: &'a [u8],
}

fn element(input: &[u8]) -> Option<Element<'_>> {
    let (&tag, after_tag) = input.split_first()?;
    let (&first, after_len) = after_tag.split_first()?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = after_len.get(..count)?;
        (bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b)), 2 + count)
    };
    let end = header.checked_add(len)?;
    let whole = input.get(..end)?;
    Some(Element { tag, content: &whole[header..], whole, rest: &input[end..] })
}

/// The SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 4.1), as DER: the seventh field
/// of `tbsCertificate` counting the optional `[0] version` first.
fn subject_public_key_info(der: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    let certificate = element(der).filter(|e| e.tag == SEQUENCE)?;
    let tbs = element(certificate.content).filter(|e| e.tag == SEQUENCE)?;
    let mut field = element(tbs.content)?;
    if field.tag == 0xa0 {
        field = element(field.rest)?; // explicit version
    }
    // serialNumber, signature, issuer, validity, subject, then the key.
    for _ in 0..5 {
        field = element(field.rest)?;
    }
    (field.tag == SEQUENCE).then_some(field.whole)
}

/// A verifier that adds the pin check after the chain check of `inner`.
#[derive(Debug)]
pub(super) struct PinnedVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    pins: Vec<[u8; 32]>,
}

impl PinnedVerifier {
    /// Wraps `inner`; `pins` were validated with the config (bad ones are skipped).
    pub(super) fn new(inner: Arc<dyn ServerCertVerifier>, pins: &[String]) -> Self {
        Self { inner, pins: pins.iter().filter_map(|p| pin_digest(p)).collect() }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let pinned = std::iter::once(end_entity)
            .chain(intermediates)
            .filter_map(|cert| spki_digest(cert))
            .any(|digest| self.pins.contains(&digest));
        if pinned {
            Ok(verified)
        } else {
            Err(rustls::Error::General(
                "certificate pinning: no certificate the server presented has a pinned key".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_pin_is_the_hash_of_the_keys_subject_public_key_info() -> Result<(), rcgen::Error> {
        let key = rcgen::KeyPair::generate()?;
        let certificate =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()])?.self_signed(&key)?;
        let expected = ring::digest::digest(
            &ring::digest::SHA256,
            &rcgen::PublicKeyData::subject_public_key_info(&key),
        );
        let expected =
            format!("sha256/{}", base64::engine::general_purpose::STANDARD.encode(expected));
        assert_eq!(spki_pin(certificate.der()), Some(expected));
        Ok(())
    }

    proptest! {
        #[test]
        fn any_bytes_give_a_pin_or_none_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = spki_pin(&bytes);
        }
    }
}
