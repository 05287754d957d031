//! Opening the WebSocket: TCP, TLS (rustls), the HTTP upgrade, with a timeout and small buffers;
//! and the mapping between tungstenite's messages and our [`Frame`]s. Used only by the driver.

use crate::config::Config;
use crate::error::TransportError;
use crate::message::Frame;
use crate::protocol::TransportRequest;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// An open WebSocket.
pub type WebSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the transport needs from the config, prepared once per client (the TLS config is built
/// once, not per connect).
#[derive(Clone)]
pub struct TransportSettings {
    connect_timeout: Duration,
    websocket: WebSocketConfig,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TransportSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportSettings")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl TransportSettings {
    /// Builds the settings (and the TLS trust store) from a config.
    pub fn from_config(config: &Config) -> Result<Self, TransportError> {
        let websocket = WebSocketConfig::default()
            .read_buffer_size(config.read_buffer_bytes)
            .write_buffer_size(config.write_buffer_bytes)
            // Backpressure is the driver's job; this only stops a runaway buffer.
            .max_write_buffer_size(
                config
                    .write_buffer_bytes
                    .saturating_mul(4)
                    .max(config.max_frame_bytes.saturating_mul(2)),
            )
            .max_message_size(Some(config.max_message_bytes))
            .max_frame_size(Some(config.max_frame_bytes));
        Ok(Self {
            connect_timeout: config.connect_timeout,
            websocket,
            tls: shared_tls_config(config)?,
        })
    }
}

/// The TLS config for `config`. One config costs about 50 KB (the web PKI roots, and rustls's
/// 256-entry session cache allocated up front), which would dominate an idle connection's
/// memory; so every client with the default trust shares one, as rustls intends (sharing the
/// session cache also lets reconnects to one server resume TLS).
fn shared_tls_config(config: &Config) -> Result<Arc<rustls::ClientConfig>, TransportError> {
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

/// Opens the WebSocket described by `request` within the connect timeout.
pub async fn open(
    request: &TransportRequest,
    settings: &TransportSettings,
) -> Result<WebSocket, TransportError> {
    let mut http_request = request
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| TransportError::InvalidUrl(e.to_string()))?;
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| TransportError::InvalidUrl(format!("header name: {e}")))?;
        // Never put the value in the error: it may be a token.
        let value = HeaderValue::from_str(value).map_err(|_| {
            TransportError::InvalidUrl(format!("header {name} has an invalid value"))
        })?;
        http_request.headers_mut().insert(name, value);
    }
    let connector = Connector::Rustls(settings.tls.clone());
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        http_request,
        Some(settings.websocket),
        true,
        Some(connector),
    );
    match tokio::time::timeout(settings.connect_timeout, connecting).await {
        Err(_) => Err(TransportError::Timeout),
        Ok(Err(e)) => Err(map_error(e)),
        Ok(Ok((socket, _response))) => Ok(socket),
    }
}

/// Maps tungstenite's error to ours, keeping what a caller can act on.
pub fn map_error(error: tungstenite::Error) -> TransportError {
    use tungstenite::Error as E;
    match error {
        E::Http(response) => TransportError::Http { status: response.status().as_u16() },
        // rustls reports through the I/O error (tokio-rustls): a refused certificate is a TLS
        // error the app must be able to tell from a dropped connection.
        E::Io(e) => match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(tls) => TransportError::Tls(tls.to_string()),
            None => TransportError::Io(e.to_string()),
        },
        E::Tls(e) => TransportError::Tls(e.to_string()),
        E::Url(e) => TransportError::InvalidUrl(e.to_string()),
        E::Capacity(e) => TransportError::Protocol(format!("over a size limit: {e}")),
        E::ConnectionClosed | E::AlreadyClosed => TransportError::Io("connection closed".into()),
        other => TransportError::Protocol(other.to_string()),
    }
}

/// Our frame as a tungstenite message.
pub fn to_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::text(text),
        Frame::Binary(bytes) => Message::binary(bytes),
        Frame::Ping(bytes) => Message::Ping(bytes.into()),
        Frame::Pong(bytes) => Message::Pong(bytes.into()),
        Frame::Close => Message::Close(None),
    }
}

/// A tungstenite message as our frame (`None` for raw frames, which the reader never yields).
pub fn from_message(message: Message) -> Option<Frame> {
    Some(match message {
        Message::Text(text) => Frame::Text(text.as_str().to_owned()),
        Message::Binary(bytes) => Frame::Binary(bytes.to_vec()),
        Message::Ping(bytes) => Frame::Ping(bytes.to_vec()),
        Message::Pong(bytes) => Frame::Pong(bytes.to_vec()),
        Message::Close(_) => Frame::Close,
        Message::Frame(_) => return None,
    })
}
