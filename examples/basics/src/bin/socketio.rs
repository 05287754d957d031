//! Connects to a Socket.IO server (the official Node one, or the reference server) with a token,
//! joins a room and prints every event until Ctrl-C.
//!
//! `cargo run -p tether-examples --bin socketio -- http://localhost:3000 <token> <room>`

use tether_core::{Client, Config, Event, Token, TokenError};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
    let token = args.next().unwrap_or_default();
    let room = args.next().unwrap_or_else(|| "lobby".to_owned());

    let client = Client::builder(Config::new(url))
        .token_provider(move || {
            let token = token.clone();
            async move { Ok::<_, TokenError>(Token::new(token)) }
        })
        .build()?;
    let mut events = client.events();
    client.connect().await?;
    client.join(&room).await?;
    println!("joined {room}; Ctrl-C to stop");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            event = events.recv() => match event {
                Some(Event::Message(m)) => println!("{} {}", m.event, serde_json::Value::Array(m.data)),
                Some(Event::StateChanged(s)) => println!("state {s}"),
                Some(Event::HealthChanged { health, quality }) => println!("health {health} ({quality})"),
                Some(_) => {}
                None => break,
            },
        }
    }
    client.disconnect().await?;
    Ok(())
}
