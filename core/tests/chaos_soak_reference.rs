//! The collaboration helpers against the reference server under faults.

mod support;

use serde_json::json;
use std::time::Duration;
use support::fault_proxy::{FaultProxy, Mode};
use support::wait;
use tether_core::{Client, CollabConfig, CollabEvent, Collaboration, Config, Token, TokenError};
use tether_reference_server::{issue_token, Role, ServerConfig};

const ROOM: &str = "soak";
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
