//! Drawing one frame of the dashboard from a [`SimulationView`]: a header with the server's
//! state, a panel per client (connection, health, latency sparkline, counters), each client's
//! view of the presence roster, the estimate's fields, and the activity log.
//!
//! Pure: everything comes in as arguments, so frames can be drawn on ratatui's `TestBackend`.

use crate::activity_log::{Entry, EntryKind};
use crate::collaborator::ClientView;
use crate::server::ServerStatus;
use crate::simulation::SimulationView;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Sparkline, Table};
use ratatui::Frame;
use serde_json::Value;
use std::time::Duration;
use tether_core::{ConnectionState, Health, PresenceState, Quality};
use tokio::time::Instant;

/// Height of a client panel: six lines of figures, a titled four-line sparkline, two borders.
const CLIENT_PANEL_HEIGHT: u16 = 13;

/// Draws the whole dashboard. `log` is the tail of the activity log, oldest first; `now` is
/// for the restart countdown.
pub fn render(frame: &mut Frame<'_>, view: &SimulationView, log: &[Entry], now: Instant) {
    let roster_height = u16::try_from(view.clients.len()).unwrap_or(3).saturating_add(3);
    let [header, clients, rosters, bottom] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(CLIENT_PANEL_HEIGHT),
        Constraint::Length(roster_height),
        Constraint::Min(5),
    ])
    .areas(frame.area());
    render_header(frame, header, view, now);
    let columns = Layout::horizontal(vec![Constraint::Fill(1); view.clients.len().max(1)]);
    for (client, area) in view.clients.iter().zip(columns.split(clients).iter()) {
        render_client(frame, *area, client);
    }
    for (client, area) in view.clients.iter().zip(columns.split(rosters).iter()) {
        render_roster(frame, *area, client);
    }
    let [estimate, activity] =
        Layout::horizontal([Constraint::Length(38), Constraint::Fill(1)]).areas(bottom);
    render_estimate(frame, estimate, view);
    render_log(frame, activity, log);
}

fn render_header(frame: &mut Frame<'_>, area: Rect, view: &SimulationView, now: Instant) {
    let status = match view.server {
        ServerStatus::Up => Span::from("● up").green().bold(),
        ServerStatus::Restarting { back_at } => {
            let left = back_at.saturating_duration_since(now).as_secs_f64();
            Span::from(format!("○ down, back in {left:.1} s")).yellow().bold()
        }
        ServerStatus::Down => Span::from("✕ down").red().bold(),
    };
    let line = Line::from(vec![
        Span::from(format!("room {} · server {} ", view.room, view.url)),
        status,
        Span::from(format!(" · restarts {}   ", view.restarts)),
        Span::from("r").bold().cyan(),
        Span::from(" restart server  "),
        Span::from("q").bold().cyan(),
        Span::from(" quit"),
    ]);
    let block = Block::bordered().title(" Tether demo ".bold());
    frame.render_widget(Paragraph::new(line).block(block), area);
}

fn render_client(frame: &mut Frame<'_>, area: Rect, client: &ClientView) {
    let title = format!(" {} · {} ", client.persona.name, client.persona.role_name());
    let block = Block::bordered().title(title.bold()).border_style(state_style(&client.state));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [figures, chart] =
        Layout::vertical([Constraint::Length(6), Constraint::Fill(1)]).areas(inner);
    let stats = &client.stats;
    let latency = &stats.latency;
    let label = |text: &'static str| Span::from(format!("{text:<9}")).dark_gray();
    let lines = vec![
        Line::from(vec![
            label("state"),
            Span::styled(client.state.to_string(), state_style(&client.state)),
        ]),
        Line::from(vec![
            label("health"),
            Span::styled(client.health.health.to_string(), health_style(client.health.health)),
            Span::from(" · "),
            Span::from(quality_name(client.health.quality)),
        ]),
        Line::from(vec![
            label("latency"),
            Span::from(format!(
                "{} p50 {} p99 {}",
                millis(latency.last),
                millis(latency.p50),
                millis(latency.p99)
            )),
        ]),
        Line::from(vec![
            label("messages"),
            Span::from(format!("sent {} acked {} ", stats.messages_sent, stats.acked)),
            Span::styled(format!("queued {}", stats.queued), queued_style(stats.queued)),
            Span::from(format!(" (peak {})", client.peak_queued)),
            Span::from(format!(" dropped {}", stats.dropped)),
        ]),
        Line::from(vec![
            label("updates"),
            Span::from(format!("{} ✓", client.ledger.confirmed)).green(),
            Span::from(" "),
            Span::from(format!("{} ✗", client.ledger.rolled_back)).red(),
            Span::from(format!(
                " {} pending · {} conflicts",
                client.ledger.unsettled, client.conflicts
            )),
        ]),
        Line::from(vec![
            label("connects"),
            Span::from(format!(
                "{} ({} reconnects) · cursor sends {}",
                stats.connect_count,
                stats.connect_count.saturating_sub(1),
                client.collab.cursor.sent
            )),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines), figures);
    let sparkline = Sparkline::default()
        .block(Block::new().title(Line::from("heartbeat round trip").dark_gray()))
        .data(&client.latency_micros)
        .style(Style::new().cyan());
    frame.render_widget(sparkline, chart);
}

fn render_roster(frame: &mut Frame<'_>, area: Rect, client: &ClientView) {
    let synced = client.room.as_ref().is_some_and(|r| r.synced);
    let title = format!(
        " presence as {} sees it{} ",
        client.persona.name,
        if synced { "" } else { " (out of date)" }
    );
    let rows: Vec<Row<'_>> = client
        .room
        .iter()
        .flat_map(|room| room.members.iter())
        .map(|m| {
            let me = m.user_id == client.persona.user_id;
            let name = if me { format!("{} (you)", m.name) } else { m.name.clone() };
            let typing = m.typing_in.as_deref().map(|f| format!("✎ {f}")).unwrap_or_default();
            let cursor = m.cursor.map(|c| format!("{:.0},{:.0}", c.x, c.y)).unwrap_or_default();
            Row::new(vec![
                Span::styled(name, presence_style(m.state)),
                Span::from(m.state.as_str()),
                Span::from(m.field.clone().unwrap_or_default()),
                Span::from(typing).yellow(),
                Span::from(cursor),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(11),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(11),
        Constraint::Fill(1),
    ];
    let header = Row::new(["who", "state", "field", "typing", "cursor"]).dark_gray();
    let style = if synced { Style::new() } else { Style::new().yellow() };
    let table = Table::new(rows, widths)
        .header(header)
        .block(Block::bordered().title(title).border_style(style));
    frame.render_widget(table, area);
}

fn render_estimate(frame: &mut Frame<'_>, area: Rect, view: &SimulationView) {
    let rows: Vec<Row<'_>> = view
        .estimate()
        .into_iter()
        .map(|f| {
            let value = match f.value {
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            let by = f.updated_by.unwrap_or_default();
            Row::new(vec![f.field, value, format!("v{}", f.version), by])
        })
        .collect();
    let widths =
        [Constraint::Length(10), Constraint::Length(7), Constraint::Length(6), Constraint::Fill(1)];
    let table = Table::new(rows, widths)
        .header(Row::new(["field", "value", "ver", "by"]).dark_gray())
        .block(Block::bordered().title(" estimate (server versions) "));
    frame.render_widget(table, area);
}

fn render_log(frame: &mut Frame<'_>, area: Rect, log: &[Entry]) {
    let visible = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line<'_>> = log
        .iter()
        .skip(log.len().saturating_sub(visible))
        .map(|entry| {
            let (mark, style) = match entry.kind {
                EntryKind::Confirmed => ("✓", Style::new().green()),
                EntryKind::RolledBack => ("✗", Style::new().red()),
                EntryKind::Conflict => ("⇄", Style::new().yellow()),
                EntryKind::Connection => ("•", Style::new().cyan()),
            };
            Line::from(vec![
                Span::from(format!("{:>6.1}s ", entry.at.as_secs_f64())).dark_gray(),
                Span::styled(format!("{mark} {:<6} ", entry.who), style),
                Span::from(entry.text.clone()),
            ])
        })
        .collect();
    let title = " optimistic updates, conflicts, connections ";
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(title)), area);
}

fn state_style(state: &ConnectionState) -> Style {
    match state {
        ConnectionState::Connected => Style::new().green(),
        ConnectionState::Connecting | ConnectionState::Reconnecting { .. } => Style::new().yellow(),
        ConnectionState::Idle => Style::new(),
        ConnectionState::Closed | ConnectionState::Failed { .. } => Style::new().red(),
    }
}

fn health_style(health: Health) -> Style {
    match health {
        Health::Healthy => Style::new().green(),
        Health::Degraded => Style::new().yellow(),
        Health::Unhealthy | Health::Disconnected => Style::new().red(),
    }
}

fn presence_style(state: PresenceState) -> Style {
    match state {
        PresenceState::Active => Style::new().add_modifier(Modifier::BOLD),
        PresenceState::Idle | PresenceState::Away => Style::new().dark_gray(),
    }
}

fn queued_style(queued: usize) -> Style {
    if queued == 0 {
        Style::new()
    } else {
        Style::new().yellow().bold()
    }
}

fn quality_name(quality: Quality) -> &'static str {
    match quality {
        Quality::Excellent => "excellent",
        Quality::Good => "good",
        Quality::Fair => "fair",
        Quality::Poor => "poor",
        Quality::Offline => "offline",
    }
}

fn millis(latency: Option<Duration>) -> String {
    latency.map_or_else(|| "-".to_owned(), |d| format!("{:.2}ms", d.as_secs_f64() * 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    #[test]
    fn states_are_coloured_by_how_worried_to_be() {
        assert_eq!(state_style(&ConnectionState::Connected).fg, Some(Color::Green));
        assert_eq!(state_style(&ConnectionState::Closed).fg, Some(Color::Red));
        assert_eq!(queued_style(3).fg, Some(Color::Yellow));
        assert_eq!(queued_style(0).fg, None);
    }
}
