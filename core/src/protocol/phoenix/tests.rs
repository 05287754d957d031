//! The Phoenix protocol on its own (no session, no socket): the recorded conversation with a
//! real Phoenix server replayed frame by frame, then the cases the recording does not show.

use super::*;
use crate::model::{AckId, Frame, OutgoingMessage, PresenceChange, Token};
use crate::protocol::{Protocol, ProtocolEvent, ProtocolOutput};
use serde_json::{json, Value};
use std::time::Instant;
use url::Url;

const RECORDING: &str = include_str!("../../../../tests/fixtures/phoenix/frames-1.7.24.txt");

fn phoenix() -> Phoenix {
    let mut p = Phoenix::new(PhoenixConfig::default(), 1 << 20);
    let mut out = ProtocolOutput::default();
    p.on_open(Some(&Token::new("good")), Instant::now(), &mut out);
    assert_eq!(out.events.pop_front(), Some(ProtocolEvent::Ready { recovered: false }));
    p
}

fn texts(out: &mut ProtocolOutput) -> Vec<String> {
    out.frames
        .drain(..)
        .map(|f| match f {
            Frame::Text(t) => t,
            other => panic!("expected a text frame, got {other:?}"),
        })
        .collect()
}

fn feed(p: &mut Phoenix, text: &str) -> Vec<ProtocolEvent> {
    let mut out = ProtocolOutput::default();
    p.on_frame(Frame::Text(text.to_owned()), Instant::now(), &mut out);
    out.events.into()
}

/// What the client does to send one recorded line.
type Action = dyn FnMut(&mut Phoenix, &mut ProtocolOutput);

fn push(topic: &str, event: &str, payload: Value) -> OutgoingMessage {
    OutgoingMessage::new(event, payload).in_namespace(topic)
}

#[test]
fn the_socket_url_carries_the_params_the_token_and_the_version() {
    let p = Phoenix::new(
        PhoenixConfig {
            params: [("user".to_owned(), json!("carol"))].into_iter().collect(),
            ..PhoenixConfig::default()
        },
        1024,
    );
    let base = Url::parse("wss://example.com/ignored?keep=1").unwrap_or_else(|e| panic!("{e}"));
    let request = p.transport_request(&base, Some(&Token::new("s3cret")));
    assert_eq!(
        request.url.as_str(),
        "wss://example.com/socket/websocket?keep=1&user=carol&token=s3cret&vsn=2.0.0"
    );
    let supabase = Phoenix::new(PhoenixConfig::supabase("anon"), 1024);
    let request = supabase.transport_request(&base, Some(&Token::new("jwt")));
    assert_eq!(
        request.url.as_str(),
        "wss://example.com/realtime/v1/websocket?keep=1&apikey=anon&vsn=2.0.0",
        "Supabase's token goes in join payloads, not the URL"
    );
}

/// The recorded refs stand for this protocol's refs (refs are opaque counters: the recorded
/// client spent one on a frame the recording leaves out). Compares a frame of ours with a
/// recorded one, learning the mapping, and translates recorded server lines into our refs.
#[derive(Default)]
struct Refs(std::collections::HashMap<String, String>);

impl Refs {
    fn same(&mut self, ours: &str, recorded: &str) -> bool {
        let (ours, recorded): (Value, Value) = (
            serde_json::from_str(ours).unwrap_or_default(),
            serde_json::from_str(recorded).unwrap_or_default(),
        );
        for slot in 0..2 {
            match (&ours[slot], &recorded[slot]) {
                (Value::Null, Value::Null) => {}
                (Value::String(o), Value::String(r)) => {
                    let mapped = self.0.entry(r.clone()).or_insert_with(|| o.clone());
                    if mapped != o {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        (2..5).all(|i| ours[i] == recorded[i])
    }

    fn translate(&self, recorded: &str) -> String {
        let mut frame: Value = serde_json::from_str(recorded).unwrap_or_default();
        for slot in 0..2 {
            if let Some(ours) = frame[slot].as_str().and_then(|r| self.0.get(r)) {
                frame[slot] = Value::String(ours.clone());
            }
        }
        frame.to_string()
    }
}

/// Every line the recorded client sent is what this protocol sends for the same actions (refs
/// aside), and every line the server sent turns into the events an app expects.
#[test]
fn the_recorded_conversation_replays_frame_for_frame() {
    let mut p = phoenix();
    let mut events = Vec::new();
    let mut refs = Refs::default();
    let mut out = ProtocolOutput::default();
    // The actions behind the recorded client lines, in order.
    let mut actions: Vec<Box<Action>> = vec![
        Box::new(|p, out| {
            p.encode_join_with("room:lobby", &json!({"hello": "world"}), Some(AckId(1)), out)
                .unwrap_or_else(|e| panic!("{e}"))
        }),
        Box::new(|p, out| {
            p.encode_message(&push("room:lobby", "ping", json!({"n": 1})), Some(AckId(2)), out)
                .unwrap_or_else(|e| panic!("{e}"))
        }),
        Box::new(|p, out| {
            p.encode_message(&push("room:lobby", "shout", json!({"msg": "hi"})), None, out)
                .unwrap_or_else(|e| panic!("{e}"))
        }),
        Box::new(|p, out| assert!(p.encode_heartbeat(1, out))),
        Box::new(|p, out| {
            p.encode_join("room:forbidden", Some(AckId(3)), out).unwrap_or_else(|e| panic!("{e}"))
        }),
        Box::new(|p, out| {
            p.encode_message(&push("room:lobby", "nack", json!({"why": "no"})), Some(AckId(4)), out)
                .unwrap_or_else(|e| panic!("{e}"))
        }),
        Box::new(|p, out| {
            p.encode_join("room:crash", Some(AckId(5)), out).unwrap_or_else(|e| panic!("{e}"))
        }),
        Box::new(|p, out| {
            p.encode_message(&push("room:crash", "crash", json!({})), None, out)
                .unwrap_or_else(|e| panic!("{e}"))
        }),
        Box::new(|p, out| {
            p.encode_join("room:close", Some(AckId(6)), out).unwrap_or_else(|e| panic!("{e}"))
        }),
        Box::new(|p, out| {
            p.encode_message(&push("room:close", "close_me", json!({})), None, out)
                .unwrap_or_else(|e| panic!("{e}"))
        }),
        Box::new(|p, out| {
            p.encode_leave("room:lobby", None, out).unwrap_or_else(|e| panic!("{e}"))
        }),
    ];
    let mut next_action = 0;
    for line in RECORDING.lines() {
        if let Some(expected) = line.strip_prefix("> ") {
            actions[next_action](&mut p, &mut out);
            next_action += 1;
            let frames = texts(&mut out);
            assert_eq!(frames.len(), 1, "client line {next_action}: {frames:?}");
            assert!(
                refs.same(&frames[0], expected),
                "client line {next_action}: {frames:?} {expected}"
            );
        } else if let Some(server) = line.strip_prefix("< ") {
            events.extend(feed(&mut p, &refs.translate(server)));
        }
    }
    assert_eq!(next_action, actions.len());
    let members = |e: &ProtocolEvent| match e {
        ProtocolEvent::Presence(PresenceChange::Synced { room, members }) => {
            Some((room.clone(), members.iter().map(|m| m.user_id.clone()).collect::<Vec<_>>()))
        }
        _ => None,
    };
    let summary: Vec<String> = events
        .iter()
        .map(|e| match e {
            ProtocolEvent::Ack { id, reply } => format!("ack {} {}", id.0, reply.data[0]),
            ProtocolEvent::Nack { id, response } => format!("nack {} {response}", id.0),
            ProtocolEvent::HeartbeatAck { sequence } => format!("heartbeat {sequence}"),
            ProtocolEvent::Message(m) => {
                format!("message {} {} {}", m.namespace, m.event, m.data[0])
            }
            ProtocolEvent::Presence(PresenceChange::Joined { room, member }) => {
                format!("joined {room} {}", member.user_id)
            }
            ProtocolEvent::RoomFailed { room, .. } => format!("failed {room}"),
            ProtocolEvent::RoomClosed { room, .. } => format!("closed {room}"),
            e if members(e).is_some() => {
                let (room, who) = members(e).unwrap_or_default();
                format!("synced {room} {who:?}")
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "ack 1 {}",
            "joined room:lobby carol",
            r#"synced room:lobby ["carol"]"#,
            r#"ack 2 {"n":1}"#,
            r#"message room:lobby shout {"msg":"hi"}"#,
            "heartbeat 1",
            r#"nack 3 {"reason":"unauthorized"}"#,
            r#"nack 4 {"why":"no"}"#,
            r#"message room:lobby server_news {"id":7}"#,
            "ack 5 {}",
            "joined room:crash carol",
            r#"synced room:crash ["carol"]"#,
            "failed room:crash",
            "ack 6 {}",
            "joined room:close carol",
            r#"synced room:close ["carol"]"#,
            "closed room:close",
        ],
        "the phx_close after our own leave is stale: nothing for room:lobby"
    );
}

#[test]
fn messages_of_an_older_join_are_dropped() {
    let mut p = phoenix();
    let mut out = ProtocolOutput::default();
    p.encode_join("room:a", Some(AckId(1)), &mut out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(texts(&mut out), [r#"["1","1","room:a","phx_join",{}]"#]);
    feed(&mut p, r#"["1","1","room:a","phx_reply",{"status":"ok","response":{}}]"#);
    // The channel crashes and is joined again: join ref 2.
    assert_eq!(feed(&mut p, r#"["1","1","room:a","phx_error",{}]"#).len(), 1);
    p.encode_join("room:a", Some(AckId(2)), &mut out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(texts(&mut out), [r#"["2","2","room:a","phx_join",{}]"#]);
    // Late news of the first join: ignored, replies included.
    assert!(feed(&mut p, r#"["1",null,"room:a","news",{}]"#).is_empty());
    assert!(feed(&mut p, r#"["1","1","room:a","phx_close",{}]"#).is_empty());
    assert!(feed(&mut p, r#"["1",null,"room:a","presence_state",{}]"#).is_empty());
    // The current join's messages, and broadcasts (no join ref), get through.
    assert_eq!(feed(&mut p, r#"["2",null,"room:a","news",{}]"#).len(), 1);
    assert_eq!(feed(&mut p, r#"[null,null,"room:a","news",{}]"#).len(), 1);
    // Topics this client is not in: nothing.
    assert!(feed(&mut p, r#"[null,null,"room:other","news",{}]"#).is_empty());
}

#[test]
fn binary_pushes_and_replies_travel_as_binary_frames() {
    let mut p = phoenix();
    let mut out = ProtocolOutput::default();
    p.encode_join("room:a", None, &mut out).unwrap_or_else(|e| panic!("{e}"));
    out.frames.clear();
    let message = OutgoingMessage::bytes("upload", vec![1, 2, 3]).in_namespace("room:a");
    assert_eq!(p.check(&message), Ok(()));
    p.encode_message(&message, Some(AckId(9)), &mut out).unwrap_or_else(|e| panic!("{e}"));
    let Some(Frame::Binary(frame)) = out.frames.pop_front() else { panic!("a binary frame") };
    assert_eq!(frame, [&[0u8, 1, 1, 6, 6][..], b"12room:aupload", &[1, 2, 3]].concat());
    // The binary reply settles the ack with the bytes.
    let mut reply = vec![1, 1, 1, 6, 2];
    reply.extend_from_slice(b"12room:aok");
    reply.extend_from_slice(&[7, 7]);
    let mut out = ProtocolOutput::default();
    p.on_frame(Frame::Binary(reply), Instant::now(), &mut out);
    let Some(ProtocolEvent::Ack { id, reply }) = out.events.pop_front() else { panic!("an ack") };
    assert_eq!((id, reply.binary), (AckId(9), vec![vec![7, 7]]));
    // A binary broadcast arrives as a message with one attachment.
    let mut broadcast = vec![2, 6, 4];
    broadcast.extend_from_slice(b"room:anews");
    broadcast.push(5);
    p.on_frame(Frame::Binary(broadcast), Instant::now(), &mut out);
    let Some(ProtocolEvent::Message(m)) = out.events.pop_front() else { panic!("a message") };
    assert_eq!((m.event.as_str(), m.binary), ("news", vec![vec![5]]));
}

#[test]
fn pushes_that_do_not_fit_a_phoenix_push_are_refused_before_they_are_queued() {
    let p = phoenix();
    let no_topic = OutgoingMessage::new("e", json!({}));
    assert!(p.check(&no_topic).is_err(), "the default namespace is no topic");
    let two = OutgoingMessage::with_args("e", vec![json!(1), json!(2)]).in_namespace("t");
    assert!(p.check(&two).is_err());
    let mixed = OutgoingMessage::new("e", json!(1)).with_attachment(vec![1]).in_namespace("t");
    assert!(p.check(&mixed).is_err());
    let mut p = phoenix();
    let mut out = ProtocolOutput::default();
    let unjoined = push("room:z", "e", json!({}));
    assert!(p.encode_message(&unjoined, None, &mut out).is_err());
    assert!(p.encode_join_with("room:z", &json!([1]), None, &mut out).is_err());
}

#[test]
fn bad_frames_are_malformed_events_never_panics() {
    let mut p = phoenix();
    for text in ["", "[", "{}", r#"["1"]"#, r#"[1,2,3,4,5]"#, "\u{0}"] {
        let events = feed(&mut p, text);
        assert!(matches!(events.as_slice(), [ProtocolEvent::Malformed(_)]), "{text:?}");
    }
    let mut out = ProtocolOutput::default();
    p.on_frame(Frame::Binary(vec![9, 9, 9]), Instant::now(), &mut out);
    assert!(matches!(out.events.pop_front(), Some(ProtocolEvent::Malformed(_))));
    // A reply to nothing, a reply without a ref: nothing at all.
    assert!(feed(&mut p, r#"[null,"77","room:a","phx_reply",{"status":"ok"}]"#).is_empty());
    assert!(feed(&mut p, r#"[null,null,"room:a","phx_reply",{}]"#).is_empty());
}

#[test]
fn supabase_joins_carry_the_token_and_match_postgres_bindings() {
    let mut p = Phoenix::new(PhoenixConfig::supabase("anon"), 1 << 20);
    let mut out = ProtocolOutput::default();
    p.on_open(Some(&Token::new("jwt-1")), Instant::now(), &mut out);
    out.events.clear();
    let config = RealtimeChannelConfig {
        postgres_changes: vec![PostgresChangesFilter::table("*", "public", "todos")],
        ..RealtimeChannelConfig::default()
    };
    p.encode_join_with("realtime:db", &config.join_payload(), Some(AckId(1)), &mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    let join: Value = serde_json::from_str(&texts(&mut out)[0]).unwrap_or_default();
    assert_eq!(join[4]["access_token"], "jwt-1");
    assert_eq!(join[4]["config"]["postgres_changes"][0]["table"], "todos");
    let ok = r#"["1","1","realtime:db","phx_reply",{"status":"ok","response":{"postgres_changes":[{"id":42,"event":"*","schema":"public","table":"todos"}]}}]"#;
    assert!(matches!(feed(&mut p, ok).as_slice(), [ProtocolEvent::Ack { id: AckId(1), .. }]));
    // Changes for our binding id come through; others do not.
    let ours = r#"[null,null,"realtime:db","postgres_changes",{"ids":[42],"data":{"type":"INSERT","record":{"id":1}}}]"#;
    assert_eq!(feed(&mut p, ours).len(), 1);
    let theirs =
        r#"[null,null,"realtime:db","postgres_changes",{"ids":[7],"data":{"type":"INSERT"}}]"#;
    assert!(feed(&mut p, theirs).is_empty());
    // A refreshed token goes to the joined channel and into the next join.
    p.on_token_refresh(&Token::new("jwt-2"), &mut out);
    assert_eq!(
        texts(&mut out),
        [r#"["1","2","realtime:db","access_token",{"access_token":"jwt-2"}]"#]
    );
    p.encode_join("realtime:db", Some(AckId(2)), &mut out).unwrap_or_else(|e| panic!("{e}"));
    let rejoin: Value = serde_json::from_str(&texts(&mut out)[0]).unwrap_or_default();
    assert_eq!(rejoin[4]["access_token"], "jwt-2");
}

#[test]
fn a_server_answering_other_bindings_is_an_error_and_the_channel_is_left() {
    let mut p = Phoenix::new(PhoenixConfig::supabase("anon"), 1 << 20);
    let mut out = ProtocolOutput::default();
    p.on_open(None, Instant::now(), &mut out);
    let config = RealtimeChannelConfig {
        postgres_changes: vec![PostgresChangesFilter::table("INSERT", "public", "a")],
        ..RealtimeChannelConfig::default()
    };
    p.encode_join_with("realtime:x", &config.join_payload(), Some(AckId(1)), &mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    out.frames.clear();
    let wrong = r#"["1","1","realtime:x","phx_reply",{"status":"ok","response":{"postgres_changes":[{"id":1,"event":"INSERT","schema":"public","table":"b"}]}}]"#;
    let mut out = ProtocolOutput::default();
    p.on_frame(Frame::Text(wrong.into()), Instant::now(), &mut out);
    let Some(ProtocolEvent::Nack { id, response }) = out.events.pop_front() else {
        panic!("a mismatch refuses the join")
    };
    assert_eq!(id, AckId(1));
    assert!(response["reason"].as_str().unwrap_or("").contains("mismatch"));
    assert_eq!(texts(&mut out), [r#"["1","2","realtime:x","phx_leave",{}]"#]);
}

#[test]
fn without_supabase_mode_a_refresh_sends_nothing() {
    let mut p = phoenix();
    let mut out = ProtocolOutput::default();
    p.encode_join("room:a", None, &mut out).unwrap_or_else(|e| panic!("{e}"));
    out.frames.clear();
    feed(&mut p, r#"["1","1","room:a","phx_reply",{"status":"ok","response":{}}]"#);
    p.on_token_refresh(&Token::new("new"), &mut out);
    assert!(out.frames.is_empty());
}

#[test]
fn supabase_broadcasts_are_deduplicated_by_the_id_inside_their_envelope() {
    let p = phoenix();
    let message = |event: &str, payload: Value| crate::model::IncomingMessage {
        namespace: "realtime:a".into(),
        event: event.into(),
        data: vec![payload],
        binary: Vec::new(),
        ack_id: None,
        offset: None,
    };
    let wrapped = message(
        "broadcast",
        json!({"type": "broadcast", "event": "chat", "payload": {"messageId": "m7"}}),
    );
    assert_eq!(p.dedup_id(&wrapped, "messageId"), Some("m7"));
    let plain = message("shout", json!({"messageId": "m8"}));
    assert_eq!(p.dedup_id(&plain, "messageId"), Some("m8"));
    let other = message("broadcast", json!({"messageId": "m9"}));
    assert_eq!(p.dedup_id(&other, "messageId"), Some("m9"), "no envelope: the top level");
}

#[test]
fn after_a_crash_the_unmatched_topic_replies_to_earlier_pushes_settle_nothing() {
    let mut p = phoenix();
    let mut out = ProtocolOutput::default();
    p.encode_join("room:a", None, &mut out).unwrap_or_else(|e| panic!("{e}"));
    feed(&mut p, r#"["1","1","room:a","phx_reply",{"status":"ok","response":{}}]"#);
    p.encode_message(&push("room:a", "save", json!({})), Some(AckId(4)), &mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    // The channel crashed before the push reached it; Phoenix then answers the push itself.
    assert_eq!(feed(&mut p, r#"["1","1","room:a","phx_error",{}]"#).len(), 1);
    let unmatched = r#"["1","2","room:a","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]"#;
    assert!(feed(&mut p, unmatched).is_empty(), "the session re-sends it after the rejoin");
}
