//! One room's presence changes as a stream of their own, for apps (and the bindings) that follow
//! a Phoenix channel's roster without reading every event.

use super::event_stream::EventStream;
use super::handle::Client;
use crate::config::StreamBuffer;
use crate::model::Event;

impl Client {
    /// The presence changes of `room` (a Phoenix channel's topic) from now on, in order, as
    /// [`Event::Presence`], bounded by `buffer` (else [`crate::Config::stream_buffer`]).
    /// Only that room's changes are queued, so other traffic never pushes them out; a reader
    /// that falls further behind than the bound gets [`Event::Lagged`] where changes were
    /// dropped, and a roster built from them is stale until the next
    /// [`crate::PresenceChange::Synced`] (the next join of the room).
    ///
    /// ```no_run
    /// # async fn demo(client: tether_core::Client) {
    /// use tether_core::{Event, PresenceChange};
    /// let mut lobby = client.presence_changes("room:lobby", None);
    /// while let Some(event) = lobby.recv().await {
    ///     match event {
    ///         Event::Presence(PresenceChange::Synced { members, .. }) => println!("{} here", members.len()),
    ///         Event::Lagged { skipped } => println!("{skipped} changes lost: wait for the next sync"),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub fn presence_changes(
        &self,
        room: impl Into<String>,
        buffer: Option<StreamBuffer>,
    ) -> EventStream {
        let room = room.into();
        self.events_where(
            buffer,
            Box::new(
                move |event| matches!(event, Event::Presence(change) if change.room() == room),
            ),
        )
    }
}

#[cfg(test)]
mod tests;
