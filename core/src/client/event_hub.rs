//! The fan-out of the client's events from the driver to every stream: a [`Fanout`] of
//! [`Event`]s weighed by their size hints, bounded by `Config::stream_buffer`.

use super::fanout::Fanout;
use crate::config::StreamBuffer;
use crate::model::Event;

/// Fans the client's events out to every live stream (see [`Fanout`]).
pub(crate) type EventHub = Fanout<Event>;

/// The hub of a client whose config bounds streams by `defaults`.
pub(crate) fn event_hub(defaults: StreamBuffer) -> EventHub {
    Fanout::new(defaults, Event::size_hint)
}
