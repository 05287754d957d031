use super::*;

#[test]
fn record_defaults_are_the_core_defaults() {
    let converted = core_api::Config::try_from(ClientConfig::default());
    assert_eq!(converted, Ok(core_api::Config::default()));
}

#[test]
fn nested_record_defaults_are_the_core_defaults() {
    assert_eq!(
        core_api::HealthThresholds::from(HealthThresholds::default()),
        core_api::HealthThresholds::default()
    );
    assert_eq!(
        core_api::BackoffPolicy::from(BackoffOptions::default()),
        core_api::BackoffPolicy::default()
    );
    assert_eq!(
        core_api::SocketIoConfig::try_from(SocketIoOptions::default()),
        Ok(core_api::SocketIoConfig::default())
    );
    assert_eq!(
        HealthThresholds::from(core_api::HealthThresholds::default()),
        HealthThresholds::default()
    );
    assert_eq!(
        core_api::BackoffPolicy::from(RejoinOptions::default()),
        core_api::Config::default().rejoin_backoff
    );
    assert_eq!(
        core_api::PhoenixConfig::try_from(crate::PhoenixOptions::default()),
        Ok(core_api::PhoenixConfig::default())
    );
    let supabase = crate::protocol_options::supabase_phoenix_options("k".into());
    assert_eq!(
        core_api::PhoenixConfig::try_from(supabase),
        Ok(core_api::PhoenixConfig::supabase("k"))
    );
}

#[test]
fn every_field_reaches_the_core_config() {
    let config = ClientConfig {
        urls: vec!["ws://a".into(), "ws://b".into()],
        protocol: Some(WireProtocol::SocketIo),
        socket_io: SocketIoOptions {
            namespaces: vec!["/".into(), "/admin".into()],
            auth_json: r#"{"device":"d1"}"#.into(),
            join_event: "join".into(),
            ..SocketIoOptions::default()
        },
        backoff: BackoffOptions {
            min_delay_ms: 100,
            max_delay_ms: 900,
            factor: 1.5,
            jitter: Some(Jitter::Equal),
            max_attempts: Some(7),
        },
        outbox_overflow: Some(OverflowPolicy::Reject),
        outbox_ttl_ms: Some(300_000),
        probe_timeout_ms: 2_500,
        durable_outbox_path: Some("/data/app/files/outbox.sqlite".into()),
        dedup_field: None,
        rng_seed: Some(42),
        root_certificates: vec![vec![1, 2, 3]],
        ..ClientConfig::default()
    };
    let core = core_api::Config::try_from(config).unwrap_or_default();
    assert_eq!(core.urls, vec!["ws://a".to_owned(), "ws://b".to_owned()]);
    let core_api::ProtocolConfig::SocketIo(sio) = &core.protocol else {
        panic!("expected Socket.IO, got {:?}", core.protocol);
    };
    assert_eq!(sio.namespaces, vec!["/".to_owned(), "/admin".to_owned()]);
    assert_eq!(sio.auth.get("device"), Some(&serde_json::json!("d1")));
    assert_eq!(sio.join_event, "join");
    assert_eq!(core.backoff.min_delay, Duration::from_millis(100));
    assert_eq!(core.backoff.max_delay, Duration::from_millis(900));
    assert_eq!(core.backoff.factor, 1.5);
    assert_eq!(core.backoff.jitter, core_api::Jitter::Equal);
    assert_eq!(core.backoff.max_attempts, Some(7));
    assert_eq!(core.outbox_overflow, core_api::OverflowPolicy::Reject);
    assert_eq!(core.outbox_ttl, Some(Duration::from_secs(300)));
    assert_eq!(core.probe_timeout, Duration::from_millis(2_500));
    assert_eq!(core.durable_outbox, Some("/data/app/files/outbox.sqlite".into()));
    assert_eq!(core.dedup_field, None);
    assert_eq!(core.rng_seed, Some(42));
    assert_eq!(core.root_certificates, vec![vec![1, 2, 3]]);
}

#[test]
fn raw_websocket_is_chosen_by_the_protocol_field() {
    let config = ClientConfig {
        urls: vec!["ws://h".into()],
        protocol: Some(WireProtocol::RawWebSocket),
        raw_websocket: RawWebSocketOptions { room_messages: true },
        ..ClientConfig::default()
    };
    let core = core_api::Config::try_from(config).map(|c| c.protocol);
    assert_eq!(
        core,
        Ok(core_api::ProtocolConfig::RawWebSocket(core_api::RawWebSocketConfig {
            room_messages: true
        }))
    );
}

#[test]
fn bad_values_surface_as_invalid_config() {
    let not_an_object = ClientConfig {
        socket_io: SocketIoOptions { auth_json: "[1]".into(), ..SocketIoOptions::default() },
        ..ClientConfig::default()
    };
    assert!(matches!(
        core_api::Config::try_from(not_an_object),
        Err(TetherError::InvalidConfig { .. })
    ));
    let bad_factor = ClientConfig {
        urls: vec!["ws://h".into()],
        backoff: BackoffOptions { factor: 0.5, ..BackoffOptions::default() },
        ..ClientConfig::default()
    };
    assert!(matches!(validate_config(bad_factor), Err(TetherError::InvalidConfig { .. })));
    assert!(matches!(
        validate_config(ClientConfig::default()),
        Err(TetherError::InvalidConfig { message }) if message.contains("urls")
    ));
}
