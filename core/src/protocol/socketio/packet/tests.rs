use super::*;
use crate::protocol::socketio::binary::{BinaryAssembler, BinaryError};
use proptest::prelude::*;
use serde_json::json;

const PH0: &str = r#"{"_placeholder":true,"num":0}"#;

/// Builds an expected packet; `data` is JSON text, empty for none.
fn pk(kind: K, namespace: &str, id: Option<u64>, data: &str, attachments: usize) -> SocketPacket {
    let data = (!data.is_empty()).then(|| {
        serde_json::from_str(data).unwrap_or_else(|e| panic!("bad test JSON {data}: {e}"))
    });
    SocketPacket { kind, namespace: namespace.to_owned(), id, data, attachments }
}

fn decode(text: &str) -> SocketPacket {
    decode_socket_packet(text).unwrap_or_else(|e| panic!("{text:?} should decode: {e}"))
}

fn assert_both_ways(cases: &[(String, SocketPacket)]) {
    for (text, expected) in cases {
        assert_eq!(&decode(text), expected, "decoding {text:?}");
        assert_eq!(&encode_socket_packet(expected), text, "encoding {expected:?}");
    }
}

fn assert_rejects(cases: &[(&str, SocketDecodeError)]) {
    for (text, expected) in cases {
        assert_eq!(decode_socket_packet(text).as_ref(), Err(expected), "decoding {text:?}");
    }
}

#[test]
fn spec_examples_for_namespace_connection_decode_and_encode() {
    let sid = r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#;
    let refused = r#"{"message":"Not authorized"}"#;
    assert_both_ways(&[
        ("0".into(), pk(K::Connect, "/", None, "", 0)),
        (
            r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#.into(),
            pk(K::Connect, "/", None, r#"{"sid":"wZX3oN0bSVIhsaknAAAI"}"#, 0),
        ),
        ("0/admin,".into(), pk(K::Connect, "/admin", None, "", 0)),
        (format!("0/admin,{sid}"), pk(K::Connect, "/admin", None, sid, 0)),
        (
            r#"0/admin,{"token":"123"}"#.into(),
            pk(K::Connect, "/admin", None, r#"{"token":"123"}"#, 0),
        ),
        (format!("4{refused}"), pk(K::ConnectError, "/", None, refused, 0)),
    ]);
}

#[test]
fn spec_examples_for_sending_data_decode_and_encode() {
    let two = format!(r#"["baz",{PH0},{{"_placeholder":true,"num":1}}]"#);
    assert_both_ways(&[
        (r#"2["foo"]"#.into(), pk(K::Event, "/", None, r#"["foo"]"#, 0)),
        (r#"2/admin,["bar"]"#.into(), pk(K::Event, "/admin", None, r#"["bar"]"#, 0)),
        (r#"2["hey","Jude"]"#.into(), pk(K::Event, "/", None, r#"["hey","Jude"]"#, 0)),
        (
            format!(r#"51-["baz",{PH0}]"#),
            pk(K::BinaryEvent, "/", None, &format!(r#"["baz",{PH0}]"#), 1),
        ),
        (format!("52-/admin,{two}"), pk(K::BinaryEvent, "/admin", None, &two, 2)),
    ]);
}

#[test]
fn spec_examples_for_acknowledgements_decode_and_encode() {
    let (foo, bar) = (format!(r#"["foo",{PH0}]"#), format!(r#"["bar",{PH0}]"#));
    assert_both_ways(&[
        (r#"212["foo"]"#.into(), pk(K::Event, "/", Some(12), r#"["foo"]"#, 0)),
        ("312[]".into(), pk(K::Ack, "/", Some(12), "[]", 0)),
        (r#"2/admin,13["foo"]"#.into(), pk(K::Event, "/admin", Some(13), r#"["foo"]"#, 0)),
        (r#"3/admin,13["bar"]"#.into(), pk(K::Ack, "/admin", Some(13), r#"["bar"]"#, 0)),
        (format!("51-14{foo}"), pk(K::BinaryEvent, "/", Some(14), &foo, 1)),
        (r#"314["bar"]"#.into(), pk(K::Ack, "/", Some(14), r#"["bar"]"#, 0)),
        (r#"215["foo"]"#.into(), pk(K::Event, "/", Some(15), r#"["foo"]"#, 0)),
        (format!("61-15{bar}"), pk(K::BinaryAck, "/", Some(15), &bar, 1)),
    ]);
}

#[test]
fn spec_examples_for_disconnection_decode_and_encode() {
    assert_both_ways(&[
        ("1".into(), pk(K::Disconnect, "/", None, "", 0)),
        ("1/admin,".into(), pk(K::Disconnect, "/admin", None, "", 0)),
    ]);
}

#[test]
fn decodes_the_sample_session_websocket_frames() {
    use crate::protocol::socketio::engineio::{decode_engine_packet, EnginePacket};
    let frames = [
        ("40/admin,", pk(K::Connect, "/admin", None, "", 0)),
        (
            r#"40/admin,{"sid":"-G5j-67EZFp-q59rADQM"}"#,
            pk(K::Connect, "/admin", None, r#"{"sid":"-G5j-67EZFp-q59rADQM"}"#, 0),
        ),
        (r#"42/admin,1["tellme"]"#, pk(K::Event, "/admin", Some(1), r#"["tellme"]"#, 0)),
        (
            &format!("461-/admin,1[{PH0}]"),
            pk(K::BinaryAck, "/admin", Some(1), &format!("[{PH0}]"), 1),
        ),
    ];
    for (frame, expected) in frames {
        let Ok(EnginePacket::Message(text)) = decode_engine_packet(frame) else {
            panic!("{frame:?} is not an Engine.IO message")
        };
        assert_eq!(decode(&text), expected);
    }
}

#[test]
fn decodes_event_with_namespace_and_ack_id() {
    let expected = pk(K::Event, "/chat", Some(42), r#"["msg",{"a":1}]"#, 0);
    assert_eq!(decode(r#"2/chat,42["msg",{"a":1}]"#), expected);
}

#[test]
fn accepts_lenient_forms_the_reference_parser_accepts() {
    assert_eq!(decode("1/admin"), pk(K::Disconnect, "/admin", None, "", 0));
    assert_eq!(decode(r#"2/,["x"]"#), pk(K::Event, "/", None, r#"["x"]"#, 0));
    assert_eq!(decode(r#"2007["x"]"#).id, Some(7));
    assert_eq!(decode(r#"4"Not authorized""#).data, Some(json!("Not authorized")));
    assert_eq!(decode(r#"50-["x"]"#).attachments, 0);
    assert_eq!(decode(r#"218446744073709551615["x"]"#).id, Some(u64::MAX));
}

#[test]
fn keeps_unicode_in_event_names_and_namespaces() {
    let data = r#"["héllo wörld 🎉","日本"]"#;
    assert_both_ways(&[(
        format!("2/ünï-côdé,7{data}"),
        pk(K::Event, "/ünï-côdé", Some(7), data, 0),
    )]);
}

#[test]
fn rejects_empty_input_and_bad_type_digits() {
    assert_rejects(&[
        ("", E::Empty),
        ("7", E::UnknownType('7')),
        ("x[\"a\"]", E::UnknownType('x')),
    ]);
    assert_rejects(&[("é", E::UnknownType('é')), (" 2[\"a\"]", E::UnknownType(' '))]);
}

#[test]
fn rejects_malformed_attachment_headers() {
    assert_rejects(&[
        (r#"5["x"]"#, E::MissingAttachmentCount(K::BinaryEvent)),
        (r#"6-1["x"]"#, E::MissingAttachmentCount(K::BinaryAck)),
        (r#"51["x",{}]"#, E::MissingAttachmentSeparator),
        (r#"21-["x"]"#, E::UnexpectedAttachmentCount(K::Event)),
        (r#"599999999999999999999999-["x"]"#, E::TooManyAttachments { max: 64 }),
        (r#"565-["x"]"#, E::TooManyAttachments { max: 64 }),
    ]);
}

#[test]
fn rejects_negative_and_oversized_ack_ids() {
    assert_rejects(&[
        (r#"2-1["foo"]"#, E::NegativeAckId),
        (r#"2/admin,-5["foo"]"#, E::NegativeAckId),
        (r#"218446744073709551616["x"]"#, E::AckIdOverflow { digits: 20 }),
        (r#"2123456789012345678901["x"]"#, E::AckIdOverflow { digits: 21 }),
        ("3[]", E::MissingAckId(K::Ack)),
        (r#"61-["x",{}]"#, E::MissingAckId(K::BinaryAck)),
        ("01{}", E::UnexpectedAckId(K::Connect)),
        ("1/admin,3", E::UnexpectedAckId(K::Disconnect)),
    ]);
    let huge = format!("2{}[\"x\"]", "9".repeat(100_000));
    assert_eq!(decode_socket_packet(&huge), Err(E::AckIdOverflow { digits: 100_000 }));
}

#[test]
fn rejects_namespaces_without_leading_slash_or_comma() {
    assert_rejects(&[
        (r#"2admin,["x"]"#, E::InvalidNamespace("admin".to_owned())),
        ("0chat,", E::InvalidNamespace("chat".to_owned())),
        (r#"2/admin["x"]"#, E::UnterminatedNamespace),
        ("2admin", E::UnexpectedCharacter { found: 'a', offset: 1 }),
    ]);
}

#[test]
fn rejects_payloads_of_the_wrong_shape() {
    assert_rejects(&[
        ("2[]", E::MissingEventName),
        ("2[1,\"x\"]", E::EventNameNotString),
        ("2[[\"nested\"]]", E::EventNameNotString),
        (&format!("51-[{PH0}]"), E::EventNameNotString),
        ("2", E::MissingPayload(K::Event)),
        ("2/admin,", E::MissingPayload(K::Event)),
        ("312", E::MissingPayload(K::Ack)),
        ("4", E::MissingPayload(K::ConnectError)),
        ("1{}", E::UnexpectedPayload(K::Disconnect)),
    ]);
    let wrong = [("2{}", K::Event), (r#"2"x""#, K::Event), ("31{}", K::Ack), ("0[]", K::Connect)];
    for (text, kind) in wrong.into_iter().chain([("4[]", K::ConnectError)]) {
        let result = decode_socket_packet(text);
        assert!(matches!(result, Err(E::WrongPayloadType { kind: k, .. }) if k == kind), "{text}");
    }
}

#[test]
fn rejects_bad_json_and_anything_around_it() {
    let deep = format!("2{}", "[".repeat(100_000));
    for text in [r#"2["foo""#, "2[foo]", "2[\"a\",]", "0{'a':1}", &deep] {
        assert!(matches!(decode_socket_packet(text), Err(E::InvalidJson(_))), "{text}");
    }
    assert_rejects(&[
        (r#"2["foo"]x"#, E::TrailingData { offset: 8 }),
        (r#"2["foo"] "#, E::TrailingData { offset: 8 }),
        ("2[\"foo\"]\n", E::TrailingData { offset: 8 }),
        (r#"2["foo"]["bar"]"#, E::TrailingData { offset: 8 }),
        (r#"2/a,["foo"]{}"#, E::TrailingData { offset: 11 }),
        (r#"2 ["foo"]"#, E::UnexpectedCharacter { found: ' ', offset: 1 }),
        ("0true", E::UnexpectedCharacter { found: 't', offset: 1 }),
    ]);
}

#[test]
fn enforces_limits_before_parsing_json() {
    let limits = DecodeLimits { max_attachments: 2, max_len: 12 };
    let decode = |t: &str| decode_socket_packet_with_limits(t, &limits);
    assert_eq!(decode(r#"2["0123456789"#), Err(E::TooLong { len: 13, max: 12 }));
    assert_eq!(decode(r#"53-["bad"#), Err(E::TooManyAttachments { max: 2 }));
    assert!(decode(r#"52-["x"]"#).is_ok());
    let default = DecodeLimits { max_attachments: 64, max_len: 16 << 20 };
    assert_eq!(DecodeLimits::default(), default);
}

#[test]
fn error_messages_name_the_problem() {
    let message = |t: &str| decode_socket_packet(t).err().map(|e| e.to_string());
    assert!(message("2[]").is_some_and(|m| m.contains("event name")));
    assert!(message("2-1[\"x\"]").is_some_and(|m| m.contains("negative")));
    assert!(message("2admin,[\"x\"]").is_some_and(|m| m.contains("'/'")));
    assert!(message("31{}").is_some_and(|m| m.contains("ACK payload must be a JSON array")));
    assert!(BinaryError::DuplicatePlaceholder(3).to_string().contains("num 3"));
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            object(inner)
        ]
    })
    .boxed()
}

fn object(values: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    let fields = prop::collection::btree_map("\\PC{0,6}", values, 0..4);
    fields.prop_map(|m| Value::Object(m.into_iter().collect())).boxed()
}

fn valid_packet() -> impl Strategy<Value = SocketPacket> {
    let event =
        (any::<String>(), prop::collection::vec(json_value(), 0..4)).prop_map(|(name, args)| {
            Value::Array(std::iter::once(Value::from(name)).chain(args).collect())
        });
    let array = || prop::collection::vec(json_value(), 0..4).prop_map(Value::Array);
    let error = prop_oneof![object(json_value()), any::<String>().prop_map(Value::String)];
    let id = || prop::option::of(any::<u64>());
    let fields = prop_oneof![
        prop::option::of(object(json_value())).prop_map(|d| (K::Connect, None, d, 0)),
        Just((K::Disconnect, None, None, 0)),
        (id(), event.clone()).prop_map(|(i, d)| (K::Event, i, Some(d), 0)),
        (any::<u64>(), array()).prop_map(|(i, d)| (K::Ack, Some(i), Some(d), 0)),
        error.prop_map(|d| (K::ConnectError, None, Some(d), 0)),
        (id(), event, 0..=64usize).prop_map(|(i, d, n)| (K::BinaryEvent, i, Some(d), n)),
        (any::<u64>(), array(), 0..=64usize).prop_map(|(i, d, n)| (
            K::BinaryAck,
            Some(i),
            Some(d),
            n
        )),
    ];
    let namespace = prop_oneof![Just("/".to_owned()), "/[^,]{0,10}"];
    (fields, namespace).prop_map(|((kind, id, data, attachments), namespace)| SocketPacket {
        kind,
        namespace,
        id,
        data,
        attachments,
    })
}

proptest! {
    #[test]
    fn decoding_arbitrary_text_never_panics(text in ".*") {
        let _ = decode_socket_packet(&text);
    }

    #[test]
    fn decoding_protocol_like_text_never_panics(text in "[0-7][0-9\\-/,a-z\\[\\]{}\":_ ]{0,40}") {
        if let Ok(p) = decode_socket_packet(&text) {
            let _ = BinaryAssembler::new().start(p);
        }
    }

    #[test]
    fn every_valid_packet_round_trips(p in valid_packet()) {
        prop_assert_eq!(decode_socket_packet(&encode_socket_packet(&p)), Ok(p));
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them(text in ".*", control in "[\\x00-\\x1f\"\\\\]") {
        for text in [text.clone(), format!("{text}{control}{text}")] {
            let mut direct = Vec::new();
            prop_assert!(write_json_str(&mut direct, &text).is_ok());
            prop_assert_eq!(String::from_utf8(direct).ok(), serde_json::to_string(&text).ok());
        }
    }

    #[test]
    fn the_direct_event_encoder_writes_what_the_packet_encoder_writes(p in valid_packet()) {
        let Some(Value::Array(items)) = &p.data else { return Ok(()) };
        let (head, args) = match (p.kind, items.split_first()) {
            (K::Event, Some((Value::String(event), args))) => (Some(event.as_str()), args),
            (K::Ack, _) => (None, items.as_slice()),
            _ => return Ok(()),
        };
        let direct = encode_event_message(p.kind, &p.namespace, p.id, head, args, 0);
        prop_assert_eq!(direct.ok(), Some(format!("4{}", encode_socket_packet(&p))));
    }
}
