//! One dashboard frame drawn from a live simulation on ratatui's test backend: every client's
//! panel, every client's view of the roster, the estimate and the log are on screen.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::Duration;
use tether_demo::dashboard_render::render;
use tether_demo::simulation::{Simulation, SimulationView};
use tokio::time::Instant;

async fn view_with_full_rosters(simulation: &Simulation) -> SimulationView {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let view = simulation.view().await.expect("a view");
        let full =
            view.clients.iter().all(|c| c.room.as_ref().is_some_and(|r| r.members.len() == 3));
        if full || Instant::now() > deadline {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_shows_every_client_their_rosters_and_the_log() {
    let simulation = Simulation::start(3, 7).await.expect("the simulation starts");
    let view = view_with_full_rosters(&simulation).await;
    let log = simulation.log().tail(50);
    let mut terminal = Terminal::new(TestBackend::new(180, 45)).expect("a test terminal");
    terminal.draw(|frame| render(frame, &view, &log, Instant::now())).expect("draws");
    // A cramped terminal gets a cramped picture, not a panic.
    let mut tiny = Terminal::new(TestBackend::new(30, 8)).expect("a tiny test terminal");
    tiny.draw(|frame| render(frame, &view, &log, Instant::now())).expect("draws small");
    simulation.shutdown().await;

    let buffer = terminal.backend().buffer();
    let width = usize::from(buffer.area.width);
    let cells: Vec<&str> = buffer.content().iter().map(|cell| cell.symbol()).collect();
    let screen: String = cells.chunks(width).map(|row| row.concat()).collect::<Vec<_>>().join("\n");
    for needle in [
        "Tether demo",
        "● up",
        "Ana · owner",
        "Ben · editor",
        "Cleo · viewer",
        "presence as Ana sees it",
        "presence as Cleo sees it",
        "Ben (you)",
        "estimate (server versions)",
        "listening on http://127.0.0.1:",
        "heartbeat round trip",
    ] {
        assert!(screen.contains(needle), "{needle:?} is not on screen:\n{screen}");
    }
}
