//! The fan-out of a collaboration's events to its subscribers, and the stream each one reads:
//! the client's bounded [`Fanout`], so a reader that falls behind costs at most its
//! `CollabConfig::stream_buffer` and is told with [`CollabEvent::Lagged`] where it lost events.

use super::state::CollabEvent;
use crate::client::fanout::{Fanout, Filter};
use crate::client::BoundedStream;
use crate::config::StreamBuffer;

/// Subscribers of a collaboration's events.
pub(crate) type CollabHub = Fanout<CollabEvent>;

/// The hub of a collaboration whose streams are bounded by `defaults`.
pub(crate) fn collab_hub(defaults: StreamBuffer) -> CollabHub {
    Fanout::new(defaults, CollabEvent::size_hint)
}

/// The events of a collaboration from the moment the stream was made; where its reader fell
/// behind the stream's bounds, a [`CollabEvent::Lagged`] says how many were dropped there.
/// Dropping the stream frees what it held.
pub type CollabEventStream = BoundedStream<CollabEvent>;

/// A stream of `hub`'s events bounded by `buffer` (else the hub's defaults), queueing only
/// what `wanted` takes (everything without it).
pub(crate) fn collab_stream(
    hub: &CollabHub,
    buffer: Option<StreamBuffer>,
    wanted: Option<Filter<CollabEvent>>,
) -> CollabEventStream {
    BoundedStream::with_notice(hub.subscribe(buffer, wanted), |skipped| CollabEvent::Lagged {
        skipped,
    })
}
