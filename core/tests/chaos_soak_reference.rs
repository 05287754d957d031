//! The collaboration helpers against the reference server under faults.

mod support;

use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::fault_proxy::{FaultProxy, Mode};
use support::wait;
use tether_core::{Client, CollabConfig, CollabEvent, Collaboration, Config, Token, TokenError};
use tether_reference_server::{issue_token, Role, ServerConfig};

const CLIENTS: usize = 10;
const ROOM: &str = "soak";
/// Rounds of the shutdown race test.
const ROUNDS: u64 = 30;
const SECRET: &str = "chaos-soak-reference-secret";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn user(i: usize) -> String {
    format!("u{i}")
}

fn token_for(i: usize) -> String {
    issue_token(SECRET, &user(i), &user(i).to_uppercase(), Role::Editor, None, ms(86_400_000))
}

fn build_client(config: Config, token: String) -> Client {
    Client::builder(config)
        .token_provider(move || {
            let token = token.clone();
            async move { Ok::<_, TokenError>(Token::new(token)) }
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Found by the soak: a collaborator with `local_user_id` that came back after missing a write
/// announced its room synced (the `Synced` event, and the state watch) while its fields were
/// still those from before it went away; the server's fields came only after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_announced_synced_only_once_its_fields_are_the_servers() {
    let server = tether_reference_server::start(ServerConfig::new(SECRET))
        .await
        .unwrap_or_else(|e| panic!("server starts: {e}"));
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let mut collaborators = Vec::new();
    for (i, url) in [server.url(), format!("http://{}", proxy.addr())].into_iter().enumerate() {
        let client =
            build_client(Config::new(url).with_reconnect_delays(ms(20), ms(200)), token_for(i));
        let config = CollabConfig { local_user_id: Some(user(i)), ..CollabConfig::default() };
        let collab = Collaboration::new(&client, config).unwrap_or_else(|e| panic!("{e}"));
        client.connect().await.unwrap_or_else(|e| panic!("{e}"));
        collab.join(ROOM).await.unwrap_or_else(|e| panic!("{e}"));
        collaborators.push((client, collab));
    }
    let [(_, ana), (ben_client, ben)] = &collaborators[..] else { unreachable!() };
    let sees = |collab: &Collaboration, value: u64| {
        collab.field(ROOM, "price").is_some_and(|f| f.value == json!(value))
    };

    ana.update_field(ROOM, "price", json!(1)).await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("ben sees price 1", || sees(ben, 1)).await;
    proxy.set_mode(Mode::Refuse);
    proxy.cut();
    wait::state(ben_client, "ben offline", |s| !s.is_connected()).await;
    ana.update_field(ROOM, "price", json!(2)).await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("ana's price 2 confirmed", || sees(ana, 2)).await;

    let mut events = ben.events();
    proxy.set_mode(Mode::Pass);
    let mut heard_price_2 = false;
    let synced_state = tokio::time::timeout(wait::PATIENCE, async {
        while let Some(event) = events.recv().await {
            match event {
                CollabEvent::FieldUpdated { value, .. } if value.value == json!(2) => {
                    heard_price_2 = true;
                }
                CollabEvent::Presence(tether_core::PresenceChange::Synced { .. }) => {
                    return ben.field(ROOM, "price");
                }
                _ => {}
            }
        }
        None
    })
    .await
    .unwrap_or_else(|_| panic!("ben's room never synced again"));
    assert!(heard_price_2, "Synced came before the snapshot's field update");
    assert_eq!(synced_state.map(|f| (f.value, f.version)), Some((json!(2), 2)));
    server.shutdown().await;
}

/// Panics in tokio worker threads: a spawned task that died (one of the server's handlers,
/// one of the test's own tasks). They do not fail a test by themselves, so a hook counts them.
static WORKER_PANICS: AtomicU64 = AtomicU64::new(0);

fn count_worker_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name().is_some_and(|n| n.starts_with("tokio-")) {
                WORKER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

fn assert_no_worker_panicked() {
    let panics = WORKER_PANICS.load(Ordering::SeqCst);
    assert_eq!(panics, 0, "{panics} task(s) panicked in runtime workers (see the output above)");
}

/// Found by the soak: a server shut down while members' connections were closing panicked in
/// their disconnect handlers (socketioxide drops its namespaces first, and the handler looked
/// the default namespace up to broadcast `user-disconnected`). A race, so 10 members leave at
/// once and the shutdown comes at a different moment in each of several rounds (this caught
/// the bug in 7 runs of 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_shut_down_while_members_leave_panics_nowhere() {
    count_worker_panics();
    for round in 0..ROUNDS {
        let server = tether_reference_server::start(ServerConfig::new(SECRET))
            .await
            .unwrap_or_else(|e| panic!("server starts: {e}"));
        let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
        let mut clients = Vec::new();
        for i in 0..CLIENTS {
            let config = Config::new(format!("http://{}", proxy.addr())).with_rng_seed(round);
            let client = build_client(config, token_for(i));
            client.connect().await.unwrap_or_else(|e| panic!("{e}"));
            client.join(ROOM).await.unwrap_or_else(|e| panic!("{e}"));
            clients.push(client);
        }
        proxy.set_mode(Mode::Refuse);
        proxy.cut();
        // Not a wait for anything: each round shuts down a little later into the closing.
        tokio::time::sleep(Duration::from_micros(round * 50)).await;
        server.shutdown().await;
        for client in &clients {
            wait::state(client, "the client to notice the shutdown", |s| !s.is_connected()).await;
        }
        assert_no_worker_panicked();
    }
}
