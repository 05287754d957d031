//! HTTP/1.1 for long-polling: one kept-alive connection per lane (the pending GET has one, the
//! POSTs another, as browsers do), opened through `net_stream` (proxy, TLS) and driven by hyper.
//! Every request carries the configured headers and the client's cookies, and every response's
//! cookies are kept (a load balancer's sticky-session cookie included).

use super::super::endpoint::Endpoint;
use super::super::net_stream::dial;
use super::super::settings::TransportSettings;
use crate::model::TransportError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tracing::debug;
use url::Url;

/// One kept-alive HTTP/1.1 connection, opened on first use and again whenever the server
/// closed it between requests.
#[derive(Default)]
pub(super) struct Lane {
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Lane {
    /// Sends a GET (`body` none) or a POST and returns the response body, which must be a
    /// success; at most `settings.max_poll_bytes` of it are read.
    pub(super) async fn request(
        &mut self,
        url: &Url,
        body: Option<String>,
        settings: &TransportSettings,
    ) -> Result<String, TransportError> {
        let request = build(url, body, settings)?;
        let sender = self.ready(url, settings).await?;
        let response = sender.send_request(request).await.map_err(http_error)?;
        let set_cookies = response.headers().get_all(hyper::header::SET_COOKIE).iter();
        settings.keep_cookies(url, set_cookies.filter_map(|v| v.to_str().ok()));
        let status = response.status();
        let limited = Limited::new(response.into_body(), settings.max_poll_bytes);
        let bytes = limited
            .collect()
            .await
            .map_err(|e| TransportError::Protocol(format!("polling response: {e}")))?
            .to_bytes();
        if status != StatusCode::OK {
            // Engine.IO answers a dead session with 400 and a JSON reason; the status is the
            // part a caller acts on (the session reconnects).
            debug!(%status, "polling request refused");
            return Err(TransportError::Http { status: status.as_u16() });
        }
        String::from_utf8(bytes.to_vec())
            .map_err(|_| TransportError::Protocol("a polling payload is not UTF-8".into()))
    }

    /// The lane's connection, ready for a request: the kept one if it is still open, else a
    /// new one.
    async fn ready(
        &mut self,
        url: &Url,
        settings: &TransportSettings,
    ) -> Result<&mut SendRequest<Full<Bytes>>, TransportError> {
        if let Some(sender) = self.sender.as_mut() {
            if !sender.is_closed() && sender.ready().await.is_ok() {
                return self.sender.as_mut().ok_or_else(|| TransportError::Io("lane".into()));
            }
        }
        let stream = dial(&Endpoint::of(url)?, settings).await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http_error)?;
        // The connection future moves the bytes; it ends when the sender is dropped.
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "polling connection ended");
            }
        });
        Ok(self.sender.insert(sender))
    }
}

fn build(
    url: &Url,
    body: Option<String>,
    settings: &TransportSettings,
) -> Result<Request<Full<Bytes>>, TransportError> {
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let method = if body.is_some() { Method::POST } else { Method::GET };
    let mut request = Request::builder().method(method).uri(target).header("host", host);
    if body.is_some() {
        request = request.header("content-type", "text/plain;charset=UTF-8");
    }
    for (name, value) in settings.headers.iter() {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(cookie) = settings.cookie_header(url) {
        request = request.header("cookie", cookie);
    }
    // Never show the headers: configured values may be credentials.
    request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|_| TransportError::InvalidUrl("a polling request cannot be built".into()))
}

fn http_error(e: hyper::Error) -> TransportError {
    // rustls reports through the I/O source of hyper's error.
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return TransportError::Tls(tls.to_string());
        }
        source = inner.source();
    }
    TransportError::Io(format!("polling: {e}"))
}
