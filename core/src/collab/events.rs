//! The event names the collaboration helpers speak, in one place.
//!
//! The defaults are seed 000's vocabulary (EstimatePro), which is also what the reference server
//! (`examples/PROTOCOL.md`) speaks. Apps whose server says `user:cursor:updated` (seed 002) or
//! `component:update` (seed 004) change the names here rather than forking the helpers.
//!
//! An empty name switches that event off: nothing is sent for it and nothing is listened for
//! (seed 004's server, for example, has no `typing-stop` and no field focus).

use crate::config::Config;

use crate::model::ConfigError;
use crate::protocol::ProtocolConfig;

/// Event names and the room field of the collaboration protocol. Every default is seed 000's.
///
/// ```
/// use tether_core::CollabEvents;
/// // Seed 002 (StudyCollab) renames the server's broadcasts and calls rooms groups:
/// let events = CollabEvents {
///     cursor_moved: "user:cursor:updated".into(),
///     presence_updated: "user:presence:updated".into(),
///     user_joined: "user:joined".into(),
///     user_left: "user:left".into(),
///     ..CollabEvents::default()
/// };
/// assert!(events.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollabEvents {
    // ----- client to server -----
    /// Join a room. Default `"join-room"`. The engine sends it (it re-joins after reconnects),
    /// so it must match the client's `SocketIoConfig::join_event`; see [`CollabEvents::apply_to`].
    pub join_room: String,
    /// Leave a room. Default `"leave-room"` (the engine's `SocketIoConfig::leave_event`).
    pub leave_room: String,
    /// Ask for a room's snapshot (members, versions), sent with an ack after every (re)join so
    /// the roster is rebuilt from the server's truth. Default `"room-state"`.
    pub room_state: String,
    /// The local cursor moved. Default `"cursor-move"`.
    pub cursor_move: String,
    /// A field got the local user's focus. Default `"field-focus"`.
    pub field_focus: String,
    /// A field lost the local user's focus. Default `"field-blur"`.
    pub field_blur: String,
    /// The local user started typing in a field. Default `"typing-start"`.
    pub typing_start: String,
    /// The local user stopped typing. Default `"typing-stop"`.
    pub typing_stop: String,
    /// The local user's activity state or tool changed. Default `"presence-update"`.
    pub presence_update: String,
    /// A versioned field write (`{room, field, value, baseVersion, optimisticId}`, acked).
    /// Default `"pricing-update"`.
    pub field_update: String,

    // ----- server to client -----
    /// Someone joined: `{room, user: Member}`. Default `"user-joined"`.
    pub user_joined: String,
    /// Someone left: `{room, userId}`. Default `"user-left"`.
    pub user_left: String,
    /// Someone's last connection closed without leaving: `{room, userId}`.
    /// Default `"user-disconnected"`.
    pub user_disconnected: String,
    /// Someone's cursor moved: `{room, userId, x, y}`. Default `"cursor-moved"`.
    pub cursor_moved: String,
    /// Someone focused a field: `{room, userId, field}`. Default `"field-focused"`.
    pub field_focused: String,
    /// Someone left a field: `{room, userId, field}`. Default `"field-blurred"`.
    pub field_blurred: String,
    /// Someone started typing: `{room, userId, field}`. Default `"typing-started"`.
    pub typing_started: String,
    /// Someone stopped typing: `{room, userId, field}`. Default `"typing-stopped"`.
    pub typing_stopped: String,
    /// Someone's state or tool changed: `{room, userId, state, tool?}`.
    /// Default `"presence-updated"`.
    pub presence_updated: String,
    /// Someone else's versioned write was accepted:
    /// `{room, field, value, version, updatedBy, timestamp, optimisticId}`.
    /// Default `"pricing-updated"`.
    pub field_updated: String,

    // ----- payload shape -----
    /// The payload field that names the room, both ways. Default `"room"`. On incoming
    /// payloads `room` and `roomId` are also accepted.
    pub room_field: String,
    /// Send the cursor as `{position: {x, y}}` instead of top-level `x`, `y` (seed 004).
    /// Incoming cursors are read in either shape. Default false.
    pub nested_cursor_position: bool,
}

impl Default for CollabEvents {
    fn default() -> Self {
        Self {
            join_room: "join-room".to_owned(),
            leave_room: "leave-room".to_owned(),
            room_state: "room-state".to_owned(),
            cursor_move: "cursor-move".to_owned(),
            field_focus: "field-focus".to_owned(),
            field_blur: "field-blur".to_owned(),
            typing_start: "typing-start".to_owned(),
            typing_stop: "typing-stop".to_owned(),
            presence_update: "presence-update".to_owned(),
            field_update: "pricing-update".to_owned(),
            user_joined: "user-joined".to_owned(),
            user_left: "user-left".to_owned(),
            user_disconnected: "user-disconnected".to_owned(),
            cursor_moved: "cursor-moved".to_owned(),
            field_focused: "field-focused".to_owned(),
            field_blurred: "field-blurred".to_owned(),
            typing_started: "typing-started".to_owned(),
            typing_stopped: "typing-stopped".to_owned(),
            presence_updated: "presence-updated".to_owned(),
            field_updated: "pricing-updated".to_owned(),
            room_field: "room".to_owned(),
            nested_cursor_position: false,
        }
    }
}

impl CollabEvents {
    /// Seed 004's `component:*` vocabulary: rooms are components named by `componentId`,
    /// cursors travel as `{position: {x, y}}` on `component:cursor` both ways, typing is one
    /// `component:typing` event, and there is no room snapshot, focus or presence event.
    ///
    /// Without a room snapshot the roster is built from joins and leaves only, so it cannot be
    /// rebuilt after a reconnect; point `room_state` at your server's equivalent if it has one.
    ///
    /// ```
    /// use tether_core::{CollabEvents, Config};
    /// let events = CollabEvents::component_channels();
    /// let mut config = Config::new("wss://erp.example.com");
    /// events.apply_to(&mut config); // the engine now joins with `component:subscribe`
    /// assert_eq!(events.field_update, "component:update");
    /// ```
    pub fn component_channels() -> Self {
        Self {
            join_room: "component:subscribe".to_owned(),
            leave_room: "component:unsubscribe".to_owned(),
            room_state: String::new(),
            cursor_move: "component:cursor".to_owned(),
            field_focus: String::new(),
            field_blur: String::new(),
            typing_start: "component:typing".to_owned(),
            typing_stop: String::new(),
            presence_update: String::new(),
            field_update: "component:update".to_owned(),
            user_joined: "component:user-joined".to_owned(),
            user_left: "component:user-left".to_owned(),
            user_disconnected: String::new(),
            cursor_moved: "component:cursor".to_owned(),
            field_focused: String::new(),
            field_blurred: String::new(),
            typing_started: "component:typing".to_owned(),
            typing_stopped: String::new(),
            presence_updated: String::new(),
            field_updated: "component:updated".to_owned(),
            room_field: "componentId".to_owned(),
            nested_cursor_position: true,
        }
    }

    /// Copies the join and leave event names and the room field into the client's Socket.IO
    /// config, so the engine's own joins (and re-joins after reconnects) speak the same
    /// vocabulary as the helpers. Does nothing for the raw WebSocket protocol.
    pub fn apply_to(&self, config: &mut Config) {
        if let ProtocolConfig::SocketIo(socket_io) = &mut config.protocol {
            socket_io.join_event = self.join_room.clone();
            socket_io.leave_event = self.leave_room.clone();
            socket_io.room_field = self.room_field.clone();
        }
    }

    /// Checks that the names can work: a room field and join/leave events exist, and no server
    /// event name means two different things (the helpers could not tell them apart).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.room_field.is_empty() {
            return Err(ConfigError::new("events.room_field", "must not be empty"));
        }
        if self.join_room.is_empty() || self.leave_room.is_empty() {
            return Err(ConfigError::new(
                "events.join_room",
                "join and leave event names must not be empty (the engine sends them)",
            ));
        }
        let incoming = self.incoming_names();
        for (i, (field, name)) in incoming.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            if let Some((other, _)) = incoming[i + 1..].iter().find(|(_, n)| n == name) {
                return Err(ConfigError::new(
                    field,
                    format!("`{name}` is also used for `{other}`; server event names must differ"),
                ));
            }
        }
        Ok(())
    }

    /// The server-to-client names with their field names, for validation and dispatch.
    fn incoming_names(&self) -> [(&'static str, &str); 10] {
        [
            ("events.user_joined", &self.user_joined),
            ("events.user_left", &self.user_left),
            ("events.user_disconnected", &self.user_disconnected),
            ("events.cursor_moved", &self.cursor_moved),
            ("events.field_focused", &self.field_focused),
            ("events.field_blurred", &self.field_blurred),
            ("events.typing_started", &self.typing_started),
            ("events.typing_stopped", &self.typing_stopped),
            ("events.presence_updated", &self.presence_updated),
            ("events.field_updated", &self.field_updated),
        ]
    }

    /// True when `name` is a server-to-client event the helpers read.
    pub fn is_incoming(&self, name: &str) -> bool {
        !name.is_empty() && self.incoming_names().iter().any(|(_, n)| *n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SocketIoConfig;

    #[test]
    fn defaults_are_seed_000_names() {
        let e = CollabEvents::default();
        assert_eq!(e.cursor_move, "cursor-move");
        assert_eq!(e.typing_stopped, "typing-stopped");
        assert_eq!(e.field_update, "pricing-update");
        assert!(e.validate().is_ok());
        assert!(e.is_incoming("user-joined"));
        assert!(!e.is_incoming("cursor-move"));
    }

    #[test]
    fn component_preset_is_valid_and_switches_off_what_seed_004_lacks() {
        let e = CollabEvents::component_channels();
        assert!(e.validate().is_ok());
        assert!(e.typing_stop.is_empty());
        assert!(!e.is_incoming(""), "an empty name never matches an event");
    }

    #[test]
    fn the_same_server_name_for_two_meanings_is_refused() {
        let e = CollabEvents { user_left: "user-joined".into(), ..CollabEvents::default() };
        let err = e.validate().expect_err("ambiguous");
        assert_eq!(err.field, "events.user_joined");
    }

    #[test]
    fn apply_to_sets_the_engine_join_vocabulary() {
        let mut config = Config::new("ws://localhost:1");
        CollabEvents::component_channels().apply_to(&mut config);
        let ProtocolConfig::SocketIo(SocketIoConfig { join_event, room_field, .. }) =
            &config.protocol
        else {
            panic!("socket.io by default");
        };
        assert_eq!(join_event, "component:subscribe");
        assert_eq!(room_field, "componentId");
    }
}
