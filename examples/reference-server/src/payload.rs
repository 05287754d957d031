//! Typed event payloads with graceful errors: a size check, then serde.

use std::convert::Infallible;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{State, TryData};
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;

use crate::hub::Hub;
use crate::protocol::{ErrorAck, ErrorCode};

/// Extractor: the event's first argument decoded as `T`, or the error ack to answer with
/// (`too_large` over the configured size, `bad_request` for anything serde refuses). Unlike
/// socketioxide's `Data`, the handler always runs, so it can answer.
#[derive(Debug)]
pub struct Payload<T>(pub Result<T, ErrorAck>);

/// Size of an incoming event: the Socket.IO packet data (event name and JSON arguments) plus
/// any binary attachments.
pub fn packet_size(value: &Value) -> usize {
    match value {
        Value::Str(text, attachments) => {
            text.len() + attachments.iter().flatten().map(|bin| bin.len()).sum::<usize>()
        }
        Value::Bytes(bytes) => bytes.len(),
    }
}

impl<A: Adapter, T: DeserializeOwned> FromMessageParts<A> for Payload<T> {
    type Error = Infallible;
    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        value: &mut Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let limit = State::<Arc<Hub>>::from_message_parts(socket, value, ack_id)
            .map(|State(hub)| hub.max_payload_bytes())
            .unwrap_or(usize::MAX);
        let size = packet_size(value);
        if size > limit {
            return Ok(Self(Err(ErrorAck::new(
                ErrorCode::TooLarge,
                format!("payload is {size} bytes; the limit is {limit}"),
            ))));
        }
        let TryData(decoded) = TryData::<T>::from_message_parts(socket, value, ack_id)?;
        Ok(Self(decoded.map_err(|err| {
            ErrorAck::new(ErrorCode::BadRequest, format!("invalid payload: {err}"))
        })))
    }
}
