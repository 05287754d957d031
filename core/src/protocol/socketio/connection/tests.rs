use super::*;
use crate::model::FailureReason;

fn protocol(namespaces: &[&str]) -> SocketIo {
    let config = SocketIoConfig {
        namespaces: namespaces.iter().map(|s| (*s).to_owned()).collect(),
        ..SocketIoConfig::default()
    };
    SocketIo::new(config, 1 << 20)
}

fn feed(p: &mut SocketIo, text: &str) -> ProtocolOutput {
    let mut out = ProtocolOutput::default();
    p.on_frame(Frame::Text(text.to_owned()), Instant::now(), &mut out);
    out
}

fn texts(out: &ProtocolOutput) -> Vec<String> {
    out.frames
        .iter()
        .filter_map(|f| if let Frame::Text(t) = f { Some(t.clone()) } else { None })
        .collect()
}

const OPEN: &str =
    r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

fn connected(namespaces: &[&str]) -> SocketIo {
    let mut p = protocol(namespaces);
    let mut out = ProtocolOutput::default();
    p.on_open(Some(&Token::new("tok")), Instant::now(), &mut out);
    feed(&mut p, OPEN);
    for ns in namespaces {
        let prefix = if *ns == "/" { String::new() } else { format!("{ns},") };
        feed(&mut p, &format!(r#"40{prefix}{{"sid":"s1","pid":"p1"}}"#));
    }
    p
}

#[test]
fn url_gets_the_engine_io_path_and_query_without_the_token() {
    let base = Url::parse("ws://localhost:3000/?room=a").unwrap_or_else(|e| panic!("{e}"));
    let req = protocol(&["/"]).transport_request(&base, Some(&Token::new("secret")));
    assert_eq!(req.url.as_str(), "ws://localhost:3000/socket.io/?room=a&EIO=4&transport=websocket");
    assert!(req.headers.is_empty());
}

#[test]
fn open_packet_sends_one_connect_per_namespace_with_the_token() {
    let mut p = protocol(&["/", "/admin"]);
    let mut out = ProtocolOutput::default();
    p.on_open(Some(&Token::new("tok")), Instant::now(), &mut out);
    let out = feed(&mut p, OPEN);
    assert_eq!(
        texts(&out),
        vec![r#"40{"token":"tok"}"#.to_owned(), r#"40/admin,{"token":"tok"}"#.to_owned()]
    );
    assert_eq!(p.liveness_timeout(), Some(Duration::from_secs(45)));
}

#[test]
fn ready_only_when_every_namespace_connected() {
    let mut p = protocol(&["/", "/admin"]);
    feed(&mut p, OPEN);
    let out = feed(&mut p, r#"40{"sid":"a"}"#);
    assert!(!out.events.iter().any(|e| matches!(e, ProtocolEvent::Ready { .. })));
    let out = feed(&mut p, r#"40/admin,{"sid":"b"}"#);
    assert!(out.events.contains(&ProtocolEvent::Ready { recovered: false }));
}

#[test]
fn server_ping_is_answered_with_pong() {
    let mut p = connected(&["/"]);
    assert_eq!(texts(&feed(&mut p, "2")), vec!["3".to_owned()]);
}

#[test]
fn only_the_plain_ping_is_the_servers_heartbeat_not_the_upgrade_probe() {
    let mut p = connected(&["/"]);
    let heartbeat = |out: &ProtocolOutput| {
        out.events.iter().filter(|e| matches!(e, ProtocolEvent::ServerHeartbeat)).count()
    };
    let out = feed(&mut p, "2");
    assert_eq!((texts(&out), heartbeat(&out)), (vec!["3".to_owned()], 1));
    let out = feed(&mut p, "2probe");
    assert_eq!((texts(&out), heartbeat(&out)), (vec!["3probe".to_owned()], 0));
}

#[test]
fn recovery_sends_pid_and_offset_and_strips_the_offset_from_events() {
    let mut p = connected(&["/"]);
    let out = feed(&mut p, r#"42["news",{"a":1},"off-7"]"#);
    match out.events.front() {
        Some(ProtocolEvent::Message(m)) => {
            assert_eq!(m.data, vec![json!({"a": 1})]);
            assert_eq!(m.offset.as_deref(), Some("off-7"));
        }
        other => panic!("{other:?}"),
    }
    p.on_close();
    let mut out = ProtocolOutput::default();
    p.on_open(Some(&Token::new("tok")), Instant::now(), &mut out);
    let out = feed(&mut p, OPEN);
    assert_eq!(texts(&out), vec![r#"40{"offset":"off-7","pid":"p1","token":"tok"}"#.to_owned()]);
    let out = feed(&mut p, r#"40{"sid":"s2","pid":"p1"}"#);
    assert!(out.events.contains(&ProtocolEvent::Ready { recovered: true }));
}

#[test]
fn events_replayed_before_the_connect_answer_come_after_ready() {
    let mut p = connected(&["/"]);
    p.on_close();
    feed(&mut p, OPEN);
    assert!(feed(&mut p, r#"42["missed",1,"o1"]"#).events.is_empty());
    let out = feed(&mut p, r#"40{"sid":"s2","pid":"p1"}"#);
    let kinds: Vec<&str> = out
        .events
        .iter()
        .map(|e| match e {
            ProtocolEvent::Ready { .. } => "ready",
            ProtocolEvent::Message(_) => "message",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["other", "ready", "message"]);
}

#[test]
fn a_new_pid_means_not_recovered() {
    let mut p = connected(&["/"]);
    p.on_close();
    feed(&mut p, OPEN);
    let out = feed(&mut p, r#"40{"sid":"s2","pid":"p2"}"#);
    assert!(out.events.contains(&ProtocolEvent::Ready { recovered: false }));
}

#[test]
fn connect_error_is_an_auth_rejection() {
    let mut p = protocol(&["/"]);
    feed(&mut p, OPEN);
    let out = feed(&mut p, r#"44{"message":"unauthorized"}"#);
    assert_eq!(
        out.events.front(),
        Some(&ProtocolEvent::Rejected(FailureReason::AuthRejected("unauthorized".into())))
    );
}

#[test]
fn events_with_ack_ids_and_binary_attachments_are_assembled() {
    let mut p = connected(&["/"]);
    let out =
        feed(&mut p, r#"451-/,9["file",{"_placeholder":true,"num":0}]"#.replace("/,", "").as_str());
    assert!(out.events.is_empty(), "waits for the attachment");
    let mut out = ProtocolOutput::default();
    p.on_frame(Frame::Binary(vec![1, 2, 3]), Instant::now(), &mut out);
    match out.events.front() {
        Some(ProtocolEvent::Message(m)) => {
            assert_eq!(
                (m.event.as_str(), m.ack_id, m.binary.clone()),
                ("file", Some(9), vec![vec![1, 2, 3]])
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn acks_and_binary_sends_encode_per_spec() {
    let mut p = connected(&["/", "/admin"]);
    let mut out = ProtocolOutput::default();
    let m = OutgoingMessage::new("up", json!(1)).in_namespace("/admin").with_attachment(vec![7]);
    assert_eq!(p.encode_message(&m, Some(AckId(3)), &mut out), Ok(()));
    assert_eq!(
        out.frames.pop_front(),
        Some(Frame::Text(r#"451-/admin,3["up",1,{"_placeholder":true,"num":0}]"#.into()))
    );
    assert_eq!(out.frames.pop_front(), Some(Frame::Binary(vec![7])));
    let out = feed(&mut p, r#"43/admin,3["ok"]"#);
    assert_eq!(
        out.events.front(),
        Some(&ProtocolEvent::Ack {
            id: AckId(3),
            reply: AckReply { data: vec![json!("ok")], binary: vec![] }
        })
    );
}

#[test]
fn server_disconnect_of_the_last_namespace_closes_the_session() {
    let mut p = connected(&["/", "/admin"]);
    let out = feed(&mut p, "41/admin,");
    assert_eq!(
        out.events.front(),
        Some(&ProtocolEvent::NamespaceDisconnected { namespace: "/admin".into() })
    );
    let out = feed(&mut p, "41");
    assert!(matches!(out.events.front(), Some(ProtocolEvent::ServerClosed(_))));
}

#[test]
fn bad_input_is_malformed_never_a_panic() {
    let mut p = connected(&["/"]);
    for bad in ["", "9", "4", "42", "42[", "42[1]", "43", "45-[]", "0{}", "42/x,[\"a\"]"] {
        let out = feed(&mut p, bad);
        assert!(
            out.events
                .iter()
                .all(|e| matches!(e, ProtocolEvent::Malformed(_) | ProtocolEvent::Message(_))),
            "{bad}: {:?}",
            out.events
        );
    }
    let mut out = ProtocolOutput::default();
    p.on_frame(Frame::Binary(vec![1]), Instant::now(), &mut out);
    assert!(matches!(out.events.front(), Some(ProtocolEvent::Malformed(_))));
}

#[test]
fn placeholders_must_match_attachments() {
    let p = connected(&["/"]);
    let mut m = OutgoingMessage::new("x", json!(1));
    m.binary.push(vec![1]);
    assert!(matches!(p.check(&m), Err(SendError::Invalid(_))));
    assert!(matches!(
        p.check(&OutgoingMessage::new("x", json!(1)).in_namespace("/nope")),
        Err(SendError::Invalid(_))
    ));
}
