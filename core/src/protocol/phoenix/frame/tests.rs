use super::*;
use proptest::prelude::*;
use serde_json::json;

/// Frames recorded from a real Phoenix 1.7.24 server (tests/fixtures/phoenix/README.md).
const RECORDING: &str = include_str!("../../../../../tests/fixtures/phoenix/frames-1.7.24.txt");

fn server_lines() -> Vec<&'static str> {
    RECORDING.lines().filter_map(|line| line.strip_prefix("< ")).collect()
}

#[test]
fn every_frame_a_real_phoenix_server_sent_decodes() {
    let lines = server_lines();
    assert_eq!(lines.len(), 19, "the recording has 19 server frames");
    for line in lines {
        let message = decode_text(line, 1 << 20).unwrap_or_else(|e| panic!("{line}: {e}"));
        // Decoding then encoding gives the same JSON back.
        let Payload::Json(payload) = &message.payload else { panic!("text frames carry JSON") };
        let again = encode_text(
            message.join_ref.as_deref(),
            message.msg_ref.as_deref(),
            &message.topic,
            &message.event,
            payload,
        );
        let original: Value = serde_json::from_str(line).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Value>(&again).ok(), Some(original), "{line}");
    }
}

#[test]
fn the_recorded_refs_read_as_the_readme_describes() {
    let lines = server_lines();
    let decode = |i: usize| decode_text(lines[i], 1 << 20).unwrap_or_else(|e| panic!("{e}"));
    // The join reply carries the join ref in both slots.
    let reply = decode(0);
    assert_eq!((reply.join_ref.as_deref(), reply.msg_ref.as_deref()), (Some("1"), Some("1")));
    assert_eq!(reply.event, "phx_reply");
    // presence_diff before presence_state; the diff has null refs, the state the join ref.
    let (diff, state) = (decode(1), decode(2));
    assert_eq!(diff.event, "presence_diff");
    assert_eq!((diff.join_ref, diff.msg_ref), (None, None));
    assert_eq!(state.event, "presence_state");
    assert_eq!((state.join_ref.as_deref(), state.msg_ref), (Some("1"), None));
    // The heartbeat reply is on topic "phoenix" with a null join ref.
    let heartbeat = lines
        .iter()
        .map(|l| decode_text(l, 1 << 20).unwrap_or_else(|e| panic!("{e}")))
        .find(|m| m.topic == "phoenix")
        .unwrap_or_else(|| panic!("no heartbeat reply recorded"));
    assert_eq!((heartbeat.join_ref, heartbeat.msg_ref.as_deref()), (None, Some("4")));
}

#[test]
fn text_frames_encode_like_phoenix_js() {
    let text = encode_text(Some("1"), Some("2"), "room:lobby", "ping", &json!({"n": 1}));
    assert_eq!(text, r#"["1","2","room:lobby","ping",{"n":1}]"#);
    let heartbeat = encode_text(None, Some("4"), "phoenix", "heartbeat", &json!({}));
    assert_eq!(heartbeat, r#"[null,"4","phoenix","heartbeat",{}]"#);
}

#[test]
fn binary_push_matches_the_v2_layout_and_reads_back() {
    let frame = encode_binary_push(Some("1"), Some("22"), "room:a", "up", &[9, 8, 7])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut expected = vec![0, 1, 2, 6, 2];
    expected.extend_from_slice(b"122room:aup");
    expected.extend_from_slice(&[9, 8, 7]);
    assert_eq!(frame, expected);
}

#[test]
fn binary_replies_and_broadcasts_decode() {
    let mut reply = vec![1, 1, 2, 6, 2];
    reply.extend_from_slice(b"122room:aok");
    reply.extend_from_slice(&[1, 2]);
    let message = decode_binary(&reply, 1024).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(message.event, REPLY_EVENT);
    assert_eq!(message.status.as_deref(), Some("ok"));
    assert_eq!(message.msg_ref.as_deref(), Some("22"));
    assert_eq!(message.payload, Payload::Binary(vec![1, 2]));

    let mut broadcast = vec![2, 6, 4];
    broadcast.extend_from_slice(b"room:anews");
    broadcast.push(42);
    let message = decode_binary(&broadcast, 1024).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((message.topic.as_str(), message.event.as_str()), ("room:a", "news"));
    assert_eq!((message.join_ref, message.msg_ref), (None, None));
    assert_eq!(message.payload, Payload::Binary(vec![42]));
}

#[test]
fn supabase_user_broadcasts_decode_as_broadcast_envelopes() {
    // Kind 4: topic, user event, metadata sizes, encoding (1 JSON), then the fields and payload.
    let mut json_frame = vec![4, 10, 6, 0, 1];
    json_frame.extend_from_slice(b"realtime:acursor");
    json_frame.extend_from_slice(br#"{"x":1}"#);
    let message = decode_binary(&json_frame, 1024).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((message.topic.as_str(), message.event.as_str()), ("realtime:a", "broadcast"));
    assert_eq!(
        message.payload,
        Payload::Json(json!({"type": "broadcast", "event": "cursor", "payload": {"x": 1}}))
    );
    // Binary encoding (0), with metadata.
    let meta = br#"{"id":"m1"}"#;
    let mut binary_frame = vec![4, 10, 4, meta.len() as u8, 0];
    binary_frame.extend_from_slice(b"realtime:afile");
    binary_frame.extend_from_slice(meta);
    binary_frame.extend_from_slice(&[1, 2, 3]);
    let message = decode_binary(&binary_frame, 1024).unwrap_or_else(|e| panic!("{e}"));
    let Payload::JsonWithBinary(envelope, bytes) = message.payload else {
        panic!("binary broadcasts keep their bytes")
    };
    assert_eq!(envelope["meta"], json!({"id": "m1"}));
    assert_eq!(envelope["payload"], json!({"_placeholder": true, "num": 0}));
    assert_eq!(bytes, [1, 2, 3]);
    // A JSON payload that is not JSON is an error, not a panic.
    let mut bad = vec![4, 1, 1, 0, 1];
    bad.extend_from_slice(b"tenot json");
    assert!(matches!(decode_binary(&bad, 1024), Err(FrameError::BadBinary(_))));
}

#[test]
fn bad_frames_are_errors_that_say_why() {
    let cases = [
        ("", "bad text frame"),
        ("{}", "not a JSON array"),
        (r#"["1","1","t","e"]"#, "4 elements"),
        (r#"["1","1",3,"e",{}]"#, "topic is not a string"),
        (r#"["1",{},"t","e",{}]"#, "ref is not a string"),
        (r#"[null,null,"t",null,{}]"#, "event is not a string"),
    ];
    for (text, why) in cases {
        let error = decode_text(text, 1024).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains(why), "{text:?} gave {error:?}");
    }
    assert_eq!(decode_text("[1]", 2), Err(FrameError::TooLong { len: 3, max: 2 }));
    assert!(matches!(decode_binary(&[], 10), Err(FrameError::BadBinary(_))));
    assert!(matches!(decode_binary(&[7], 10), Err(FrameError::BadBinary(_))));
    assert!(matches!(decode_binary(&[2, 200, 1, b'a'], 10), Err(FrameError::BadBinary(_))));
    assert!(matches!(decode_binary(&[2, 1, 0, 0xff], 10), Err(FrameError::BadBinary(_))));
    let long = "x".repeat(256);
    assert_eq!(
        encode_binary_push(None, None, &long, "e", &[]),
        Err(FrameError::FieldTooLong("topic"))
    );
}

#[test]
fn numeric_refs_compare_as_their_text() {
    let message = decode_text(r#"[1,2,"t","e",null]"#, 1024).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((message.join_ref.as_deref(), message.msg_ref.as_deref()), (Some("1"), Some("2")));
}

proptest! {
    #[test]
    fn decoding_arbitrary_text_never_panics(text in ".*") {
        let _ = decode_text(&text, 1 << 16);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_binary(&bytes, 1 << 16);
    }

    #[test]
    fn binary_pushes_round_trip(
        join_ref in "[0-9]{0,4}",
        msg_ref in "[0-9]{1,4}",
        topic in "[a-z:]{1,20}",
        event in "[a-z_]{1,20}",
        payload in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let join = (!join_ref.is_empty()).then_some(join_ref.as_str());
        let frame = encode_binary_push(join, Some(&msg_ref), &topic, &event, &payload);
        prop_assert!(frame.is_ok());
        let frame = frame.unwrap_or_default();
        // Read back as a push from the server side's point of view: kind, 4 sizes, fields.
        prop_assert_eq!(frame[0], 0);
        prop_assert_eq!(usize::from(frame[1]), join_ref.len());
        prop_assert_eq!(&frame[frame.len() - payload.len()..], payload.as_slice());
    }
}
