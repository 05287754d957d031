//! The upgrade probe: a WebSocket opened for the polling session's id, `2probe` sent, `3probe`
//! awaited, within the connect timeout. Anything else (a refused upgrade, a proxy that breaks
//! WebSockets, silence) fails the probe, and the session stays on polling.

use super::super::settings::TransportSettings;
use super::super::websocket::{self, from_message, map_error, to_message, WebSocket};
use crate::model::TransportError;
use crate::protocol::socketio::polling::{is_probe_answer, probe, upgrade_url};
use crate::protocol::TransportRequest;
use futures_util::{SinkExt, StreamExt};
use url::Url;

/// Opens and probes the WebSocket that would carry Engine.IO session `sid`.
pub(super) async fn probe_websocket(
    websocket_url: &Url,
    sid: &str,
    headers: &[(String, String)],
    settings: &TransportSettings,
) -> Result<WebSocket, TransportError> {
    let request =
        TransportRequest { url: upgrade_url(websocket_url, sid), headers: headers.to_vec() };
    let probing = async {
        let mut socket = websocket::open(&request, settings).await?;
        socket.send(to_message(probe())).await.map_err(map_error)?;
        match socket.next().await {
            Some(Ok(message)) => match from_message(message) {
                Some(answer) if is_probe_answer(&answer) => Ok(socket),
                _ => Err(TransportError::Protocol("the upgrade probe got no 3probe".into())),
            },
            Some(Err(e)) => Err(map_error(e)),
            None => Err(TransportError::Io("the WebSocket closed during the upgrade probe".into())),
        }
    };
    tokio::time::timeout(settings.connect_timeout, probing)
        .await
        .unwrap_or(Err(TransportError::Timeout))
}
