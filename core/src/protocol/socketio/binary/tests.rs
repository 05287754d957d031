use super::*;
use crate::protocol::socketio::packet::decode_socket_packet;
use serde_json::json;

const PH0: &str = r#"{"_placeholder":true,"num":0}"#;

fn decode(text: &str) -> SocketPacket {
    decode_socket_packet(text).unwrap_or_else(|e| panic!("{text:?} should decode: {e}"))
}

#[test]
fn assembles_attachments_in_order() {
    let ph1 = r#"{"_placeholder":true,"num":1}"#;
    let p = decode(&format!(r#"52-/admin,["baz",{ph1},{PH0}]"#));
    let mut assembler = BinaryAssembler::new();
    assert_eq!(assembler.start(p.clone()), Ok(None));
    assert_eq!(assembler.push(vec![1, 2]), Ok(None));
    assert!(assembler.is_waiting());
    let attachments = vec![vec![1, 2], vec![3, 4]];
    assert_eq!(assembler.push(vec![3, 4]), Ok(Some(BinaryPacket { packet: p, attachments })));
    assert!(!assembler.is_waiting());
    assert_eq!(assembler.push(vec![5]), Err(BinaryError::UnexpectedAttachment));
}

#[test]
fn refuses_attachments_past_its_byte_bound_as_they_arrive() {
    let ph1 = r#"{"_placeholder":true,"num":1}"#;
    let p = decode(&format!(r#"53-["x",{PH0},{ph1},{{"_placeholder":true,"num":2}}]"#));
    let mut assembler = BinaryAssembler::with_max_bytes(10);
    assert_eq!(assembler.start(p.clone()), Ok(None));
    assert_eq!(assembler.push(vec![0; 6]), Ok(None));
    let over = BinaryError::AttachmentsTooLarge { max: 10 };
    assert_eq!(assembler.push(vec![0; 5]), Err(over));
    assert!(!assembler.is_waiting(), "the packet is dropped at once");
    assert_eq!(assembler.push(vec![0]), Err(BinaryError::UnexpectedAttachment));
    assert_eq!(assembler.start(p), Ok(None), "the next packet starts from zero");
    assert_eq!(assembler.push(vec![0; 4]), Ok(None));
}

#[test]
fn completes_at_once_without_attachments_and_refuses_other_kinds() {
    let mut assembler = BinaryAssembler::new();
    let empty = decode(r#"50-["x"]"#);
    let expected = BinaryPacket { packet: empty.clone(), attachments: Vec::new() };
    assert_eq!(assembler.start(empty), Ok(Some(expected)));
    assert_eq!(assembler.start(decode(r#"2["x"]"#)), Err(BinaryError::NotBinary(K::Event)));
    assert_eq!(assembler.push(vec![0]), Err(BinaryError::UnexpectedAttachment));
}

#[test]
fn refuses_a_new_binary_packet_while_one_is_incomplete() {
    let mut assembler = BinaryAssembler::new();
    let p = decode(&format!(r#"52-["x",{PH0},{{"_placeholder":true,"num":1}}]"#));
    assert_eq!(assembler.start(p.clone()), Ok(None));
    assert_eq!(assembler.push(vec![1]), Ok(None));
    let busy = BinaryError::AlreadyAssembling { remaining: 1 };
    assert_eq!(assembler.start(p.clone()), Err(busy));
    assembler.reset();
    assert_eq!(assembler.start(p), Ok(None));
}

#[test]
fn rejects_placeholders_that_do_not_match_the_header() {
    let ph = |num: &str| format!(r#"{{"_placeholder":true,"num":{num}}}"#);
    let cases = [
        (
            format!(r#"52-["x",{PH0}]"#),
            BinaryError::PlaceholderCountMismatch { declared: 2, found: 1 },
        ),
        (r#"51-["x"]"#.into(), BinaryError::PlaceholderCountMismatch { declared: 1, found: 0 }),
        (
            format!(r#"51-["x",{}]"#, ph("1")),
            BinaryError::PlaceholderOutOfRange { num: 1, count: 1 },
        ),
        (
            format!(r#"50-["x",{{"a":[{PH0}]}}]"#),
            BinaryError::PlaceholderOutOfRange { num: 0, count: 0 },
        ),
        (format!(r#"52-["x",{PH0},{PH0}]"#), BinaryError::DuplicatePlaceholder(0)),
        (format!(r#"51-["x",{}]"#, ph("-1")), BinaryError::InvalidPlaceholder),
        (format!(r#"51-["x",{}]"#, ph(r#""0""#)), BinaryError::InvalidPlaceholder),
    ];
    for (text, expected) in cases {
        assert_eq!(BinaryAssembler::new().start(decode(&text)), Err(expected), "{text}");
    }
}

#[test]
fn encode_binary_matches_the_spec_and_checks_placeholders() {
    let frames = vec![vec![1, 2, 3, 4]];
    let event = encode_binary(K::Event, "/", None, json!(["baz", placeholder(0)]), frames.clone());
    assert_eq!(event, Ok((format!(r#"51-["baz",{PH0}]"#), frames)));
    let ack = encode_binary(K::Ack, "/admin", Some(1), json!([placeholder(0)]), vec![vec![9]]);
    assert_eq!(ack.map(|(text, _)| text), Ok(format!("61-/admin,1[{PH0}]")));
    let missing = encode_binary(K::Event, "/", None, json!(["x", placeholder(0)]), vec![]);
    assert_eq!(missing, Err(BinaryError::PlaceholderOutOfRange { num: 0, count: 0 }));
    let connect = encode_binary(K::Connect, "/", None, json!({}), vec![]);
    assert_eq!(connect, Err(BinaryError::NotBinary(K::Connect)));
}

#[test]
fn recognises_only_well_formed_placeholders() {
    assert_eq!(is_placeholder(&placeholder(3)), Some(3));
    assert_eq!(is_placeholder(&json!({"_placeholder": true, "num": 0, "extra": 1})), Some(0));
    assert_eq!(is_placeholder(&json!({"_placeholder": false, "num": 0})), None);
    assert_eq!(is_placeholder(&json!({"_placeholder": true, "num": 1.5})), None);
    assert_eq!(is_placeholder(&json!({"num": 0})), None);
}
