//! A fault-injecting TCP proxy for integration tests.
//!
//! The SDK is meant to survive bad networks, and the only honest way to test that is to put
//! something between the client and a real server that can misbehave on command: stall,
//! slow down, drop connections cleanly or abruptly, refuse new ones, or point at a server
//! that was restarted on another port. [`FaultProxy`] does that on loopback, with every fault
//! switchable at run time and applied to connections that are already open.
//!
//! Requires tokio >= 1.50 (for `TcpStream::set_zero_linger`).

// Every integration test binary compiles this module but uses only part of its API; without
// this, each unused method would be a `dead_code` warning, i.e. an error under `-D warnings`.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Size of one read from a socket; each read becomes one queued chunk.
const CHUNK: usize = 16 * 1024;
/// Bytes a direction may hold in its queue before it stops reading. This is the "bytes in
/// flight" of the simulated link: big enough that `Latency` does not throttle ordinary test
/// traffic, small enough that a stalled peer pushes back on the sender as a real link would.
const MAX_QUEUED: usize = 1 << 20;
/// How long `cut()` keeps reading (and discarding) after sending FIN. Closing a socket with
/// unread data makes the kernel send RST instead of a clean close, so we drain first; the
/// bound keeps a peer that never closes from pinning the task.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// `Bandwidth` pacing granularity: at most rate/50 bytes are written at once, so the rate is
/// smooth at a 20 ms scale rather than arriving in one burst per second.
const PACING_SLICES_PER_SEC: u64 = 50;

/// How the proxy treats traffic. Set with [`FaultProxy::set_mode`]; a change applies at once
/// to open connections as well as to new ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Forward bytes both ways untouched.
    #[default]
    Pass,
    /// Keep every socket open and keep accepting, but forward nothing either way: bytes read
    /// are discarded (including those still queued when the mode is entered), as on a dead
    /// path where writes succeed and nothing ever comes back (half-open TCP). The SDK must
    /// notice through its own heartbeats. A FIN is held back rather than lost and is delivered
    /// once the mode changes, so a connection whose peer closed still ends after healing.
    Blackhole,
    /// Delay every chunk by this one-way delay in each direction, preserving order. Chunks
    /// are queued with due times, so throughput is not limited to one chunk per delay.
    Latency(Duration),
    /// Accept new connections and close them at once, as if the server were down: the client
    /// sees EOF, or a reset if it had already sent data (the kernel resets a socket closed
    /// with unread input). Connections already open keep flowing as in `Pass`.
    Refuse,
    /// Forward both ways, each direction limited to this many bytes per second. `0` forwards
    /// nothing but, unlike `Blackhole`, keeps what it read queued (until the queue is full).
    Bandwidth(u64),
}

impl Mode {
    /// Extra one-way delay given to a chunk read while this mode is in force.
    fn delay(self) -> Duration {
        match self {
            Mode::Latency(delay) => delay,
            _ => Duration::ZERO,
        }
    }
}

/// Commands broadcast to every connection task. Counters rather than flags so that each
/// connection can tell whether a cut or reset happened *after* it was accepted: a connection
/// compares against the value it saw when it was accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Control {
    cuts: u64,
    resets: u64,
    shutdown: bool,
}

/// Why a connection was torn down from outside.
enum Kill {
    Cut,
    Reset,
    Shutdown,
}

/// State shared by the handle, the accept loop and every connection task.
struct Shared {
    upstream: Mutex<SocketAddr>,
    mode: watch::Sender<Mode>,
    control: watch::Sender<Control>,
    open: AtomicUsize,
    accepted: AtomicU64,
    /// Answer WebSocket upgrade requests with `400` instead of forwarding them.
    refuse_websockets: AtomicBool,
    refused_upgrades: AtomicU64,
}

impl Shared {
    fn upstream(&self) -> SocketAddr {
        // A test that panicked while holding the lock must not cascade into unrelated panics.
        *self.upstream.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A TCP proxy on `127.0.0.1` (random port) that forwards each accepted connection to an
/// upstream address and injects faults on demand.
///
/// Dropping it stops the accept loop and closes every proxied connection; no task outlives
/// it (the connection tasks live in a `JoinSet` owned by the accept task, which is aborted).
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

impl FaultProxy {
    /// Binds `127.0.0.1:0` and starts forwarding to `upstream` in [`Mode::Pass`].
    ///
    /// Must be called inside a tokio runtime; the proxy's tasks run on it.
    pub async fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream),
            mode: watch::channel(Mode::Pass).0,
            control: watch::channel(Control::default()).0,
            open: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            refuse_websockets: AtomicBool::new(false),
            refused_upgrades: AtomicU64::new(0),
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        tracing::debug!(%addr, %upstream, "fault proxy started");
        Ok(FaultProxy { addr, shared, accept_task })
    }

    /// The address clients should connect to instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The upstream address new connections are forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream()
    }

    /// Points new connections at `addr`, e.g. after the test server restarted on another
    /// port. Open connections stay with the upstream they were opened to.
    pub fn set_upstream(&self, addr: SocketAddr) {
        *self.shared.upstream.lock().unwrap_or_else(PoisonError::into_inner) = addr;
        tracing::debug!(proxy = %self.addr, upstream = %addr, "fault proxy upstream changed");
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        *self.shared.mode.borrow()
    }

    /// Switches the mode for open and new connections alike.
    pub fn set_mode(&self, mode: Mode) {
        // send_replace, unlike send, stores the value even when no connection is listening.
        self.shared.mode.send_replace(mode);
        tracing::debug!(proxy = %self.addr, ?mode, "fault proxy mode changed");
    }

    /// Closes every open connection both ways with a clean FIN, discarding anything still
    /// queued. New connections are still accepted according to the mode.
    ///
    /// Affects connections the proxy has accepted (see
    /// [`connection_count`](Self::connection_count)); one still in the kernel's accept backlog
    /// survives, so wait for the count first when the test has just connected.
    pub fn cut(&self) {
        self.shared.control.send_modify(|c| c.cuts += 1);
        tracing::debug!(proxy = %self.addr, "fault proxy cut");
    }

    /// Closes every open connection abruptly: the client side gets an RST (`SO_LINGER` 0), so
    /// the client sees `ConnectionReset`; the upstream side is closed normally.
    ///
    /// Same caveat as [`cut`](Self::cut) about connections not yet accepted.
    pub fn reset(&self) {
        self.shared.control.send_modify(|c| c.resets += 1);
        tracing::debug!(proxy = %self.addr, "fault proxy reset");
    }

    /// Proxied connections currently open. A connection stops counting as soon as it stops
    /// forwarding (cut, reset, both sides closed, or an I/O error); refused ones never count.
    pub fn connection_count(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Refuses WebSocket upgrades from now on, as a corporate proxy or firewall that only lets
    /// plain HTTP through: a new connection whose first request asks to upgrade to a WebSocket
    /// is answered `400 Bad Request` and closed; every other connection is forwarded as usual.
    pub fn refuse_websocket_upgrades(&self, refuse: bool) {
        self.shared.refuse_websockets.store(refuse, Ordering::SeqCst);
    }

    /// WebSocket upgrade requests refused so far.
    pub fn refused_upgrades(&self) -> u64 {
        self.shared.refused_upgrades.load(Ordering::SeqCst)
    }

    /// Connections accepted since start, including those closed at once by [`Mode::Refuse`],
    /// so a test can see a client retrying against a "down" server.
    pub fn total_accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The flag makes connection tasks close their sockets promptly on their own; the abort
        // guarantees it even for a task stuck elsewhere, since dropping the accept task drops
        // the listener and the JoinSet, which aborts every connection task.
        self.shared.control.send_modify(|c| c.shutdown = true);
        self.accept_task.abort();
    }
}

/// Decrements the open-connection count when a connection stops forwarding, on every path,
/// including the task being aborted.
struct OpenGuard(Arc<Shared>);

impl OpenGuard {
    fn new(shared: Arc<Shared>) -> OpenGuard {
        shared.open.fetch_add(1, Ordering::SeqCst);
        OpenGuard(shared)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut control = shared.control.subscribe();
    // Owning the connection tasks here ties their lifetime to this task's.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    shared.accepted.fetch_add(1, Ordering::SeqCst);
                    if *shared.mode.borrow() == Mode::Refuse {
                        tracing::debug!(%peer, "fault proxy refused connection");
                        drop(client);
                        continue;
                    }
                    if shared.refuse_websockets.load(Ordering::SeqCst) {
                        let shared = Arc::clone(&shared);
                        connections.spawn(async move {
                            if let Some(client) = refuse_if_upgrade(client, &shared).await {
                                let control = shared.control.subscribe();
                                let seen = *control.borrow();
                                let guard = OpenGuard::new(Arc::clone(&shared));
                                connection(client, peer, shared, control, seen, guard).await;
                            }
                        });
                        continue;
                    }
                    // Snapshot the controls before counting the connection as open: a test that
                    // sees the count go up and then calls cut() must reach this connection.
                    let mut control = shared.control.subscribe();
                    let seen = *control.borrow_and_update();
                    let guard = OpenGuard::new(Arc::clone(&shared));
                    let shared = Arc::clone(&shared);
                    connections.spawn(connection(client, peer, shared, control, seen, guard));
                }
                Err(error) => {
                    // Typically EMFILE; back off instead of spinning on a hot error.
                    tracing::warn!(%error, "fault proxy accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            // Reap finished tasks so the set does not grow over a long test.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            // Map away the borrow guard: holding it across the select would make the task !Send.
            _ = async { control.wait_for(|c| c.shutdown).await.map(|_| ()) } => break,
        }
    }
}

/// Looks at the first request of a connection without consuming it: an upgrade to a WebSocket
/// is answered `400` and closed (`None`); anything else is handed back to be forwarded.
async fn refuse_if_upgrade(mut client: TcpStream, shared: &Shared) -> Option<TcpStream> {
    let mut head = vec![0u8; 8 * 1024];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = client.peek(&mut head).await.ok()?;
        let text = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
        let complete = text.contains("\r\n\r\n");
        if complete || n == head.len() || n == 0 || Instant::now() > deadline {
            if complete && text.contains("upgrade: websocket") {
                shared.refused_upgrades.fetch_add(1, Ordering::SeqCst);
                let _ = client.read(&mut head[..n]).await;
                let refusal =
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = client.write_all(refusal).await;
                let _ = client.shutdown().await;
                return None;
            }
            return Some(client);
        }
        // More of the head is on its way: look again shortly.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Resolves when this connection must be torn down from outside.
async fn killed(control: &mut watch::Receiver<Control>, seen: Control) -> Kill {
    loop {
        if control.changed().await.is_err() {
            return Kill::Shutdown;
        }
        let now = *control.borrow_and_update();
        if now.shutdown {
            return Kill::Shutdown;
        }
        if now.resets != seen.resets {
            return Kill::Reset;
        }
        if now.cuts != seen.cuts {
            return Kill::Cut;
        }
    }
}

async fn connection(
    client: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut control: watch::Receiver<Control>,
    seen: Control,
    guard: OpenGuard,
) {
    let upstream_addr = shared.upstream();
    // The proxy must not add Nagle/delayed-ACK stalls of its own, or latency figures skew.
    let _ = client.set_nodelay(true);
    let (mut client_rd, mut client_wr) = client.into_split();
    // Lives out here, not inside `relay`, so cut() can still send FIN upstream and drain it.
    let mut upstream: Option<(OwnedReadHalf, OwnedWriteHalf)> = None;

    let relayed = relay(&mut client_rd, &mut client_wr, &mut upstream, upstream_addr, &shared.mode);
    let kill = tokio::select! {
        result = relayed => {
            match result {
                Ok(()) => tracing::debug!(%peer, "fault proxy connection closed"),
                // Dropping the sockets below closes them; the other side sees EOF (or RST if
                // it had unread data), much as it would from a failing real peer.
                Err(error) => tracing::debug!(%peer, %error, "fault proxy connection failed"),
            }
            None
        }
        kill = killed(&mut control, seen) => Some(kill),
    };
    drop(guard);

    match kill {
        None | Some(Kill::Shutdown) => {}
        Some(Kill::Reset) => {
            tracing::debug!(%peer, "fault proxy resetting connection");
            // Reunite first: dropping a split write half sends FIN, and a FIN ahead of the RST
            // would show the client a clean EOF instead of ConnectionReset.
            if let Ok(stream) = client_rd.reunite(client_wr) {
                let _ = stream.set_zero_linger();
            }
        }
        Some(Kill::Cut) => {
            tracing::debug!(%peer, "fault proxy cutting connection");
            let _ = client_wr.shutdown().await;
            if let Some((_, wr)) = upstream.as_mut() {
                let _ = wr.shutdown().await;
            }
            let drain_upstream = async {
                if let Some((rd, _)) = upstream.as_mut() {
                    let _ = tokio::io::copy(rd, &mut tokio::io::sink()).await;
                }
            };
            let drain_client = async {
                let _ = tokio::io::copy(&mut client_rd, &mut tokio::io::sink()).await;
            };
            let _ = tokio::time::timeout(DRAIN_LIMIT, async {
                tokio::join!(drain_client, drain_upstream)
            })
            .await;
        }
    }
}

/// Connects upstream and forwards both ways until both directions have seen EOF.
async fn relay(
    client_rd: &mut OwnedReadHalf,
    client_wr: &mut OwnedWriteHalf,
    upstream: &mut Option<(OwnedReadHalf, OwnedWriteHalf)>,
    upstream_addr: SocketAddr,
    mode: &watch::Sender<Mode>,
) -> io::Result<()> {
    let stream = match TcpStream::connect(upstream_addr).await {
        Ok(stream) => stream,
        Err(error) => {
            // A dead path must look dead even if the server is down as well: hold the client
            // while blackholed and close it only once the path "heals" and finds no server.
            discard_while_blackholed(client_rd, mode.subscribe()).await;
            return Err(error);
        }
    };
    let _ = stream.set_nodelay(true);
    let (upstream_rd, upstream_wr) = upstream.insert(stream.into_split());
    let to_upstream = pump(client_rd, upstream_wr, mode.subscribe());
    let to_client = pump(upstream_rd, client_wr, mode.subscribe());
    // Each direction ends on its own (half-close is forwarded); an error in either ends both.
    tokio::try_join!(to_upstream, to_client).map(|_| ())
}

async fn discard_while_blackholed(src: &mut OwnedReadHalf, mut mode: watch::Receiver<Mode>) {
    let mut buf = vec![0u8; CHUNK];
    while *mode.borrow_and_update() == Mode::Blackhole {
        tokio::select! {
            read = src.read(&mut buf) => {
                if !matches!(read, Ok(n) if n > 0) {
                    return;
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// A piece of one direction's stream, released to the destination at `due`.
struct Chunk {
    due: Instant,
    /// `None` is the source's EOF, queued like data so the FIN keeps its place in line.
    data: Option<Vec<u8>>,
}

/// Forwards one direction. Reading and writing are decoupled by a queue of due-stamped chunks
/// so that delay and pacing never stop the reader, and every wait is a `select!` branch so a
/// mode change takes effect immediately, even in the middle of a stalled write.
async fn pump(
    src: &mut OwnedReadHalf,
    dst: &mut OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) -> io::Result<()> {
    let mut queue: VecDeque<Chunk> = VecDeque::new();
    let mut queued = 0usize;
    // Bytes of the front chunk already written: writes are partial so they can be cancelled.
    let mut written = 0usize;
    let mut src_done = false;
    // Earliest time `Bandwidth` lets the next slice go out.
    let mut next_slot = Instant::now();
    let mut buf = vec![0u8; CHUNK];

    loop {
        let current = *mode.borrow_and_update();
        if current == Mode::Blackhole && queued > 0 {
            // Packets in flight on a path that dies are lost; only the FIN marker survives.
            queue.retain(|chunk| chunk.data.is_none());
            queued = 0;
            written = 0;
        }
        let send = match (current, queue.front()) {
            (Mode::Blackhole | Mode::Bandwidth(0), _) | (_, None) => None,
            (Mode::Bandwidth(rate), Some(chunk)) => Some((
                chunk.due.max(next_slot),
                usize::try_from((rate / PACING_SLICES_PER_SEC).max(1)).unwrap_or(usize::MAX),
            )),
            (_, Some(chunk)) => Some((chunk.due, usize::MAX)),
        };
        let can_read = !src_done && queued < MAX_QUEUED;

        tokio::select! {
            // Mode changes first: once set_mode() returns, no later read or write of this
            // direction may still act on the old mode (tests rely on that to be deterministic).
            biased;
            changed = mode.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
            }
            sent = send_front(dst, queue.front(), written, send), if send.is_some() => {
                let Some(n) = sent? else {
                    // The FIN went out after everything before it: this direction is done.
                    return Ok(());
                };
                if let Mode::Bandwidth(rate) = current {
                    next_slot = next_slot.max(Instant::now()) + transmit_time(n, rate);
                }
                written += n;
                if let Some(Chunk { data: Some(data), .. }) = queue.front() {
                    if written >= data.len() {
                        queued -= data.len();
                        written = 0;
                        queue.pop_front();
                    }
                }
            }
            read = src.read(&mut buf), if can_read => {
                let n = read?;
                let due = Instant::now() + current.delay();
                if n == 0 {
                    src_done = true;
                    queue.push_back(Chunk { due, data: None });
                } else if current != Mode::Blackhole {
                    queue.push_back(Chunk { due, data: Some(buf[..n].to_vec()) });
                    queued += n;
                }
            }
        }
    }
}

/// Time `n` bytes occupy a link of `rate` bytes per second (`rate` > 0).
fn transmit_time(n: usize, rate: u64) -> Duration {
    let nanos = u128::try_from(n).unwrap_or(u128::MAX) * 1_000_000_000 / u128::from(rate);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Waits until `send`'s time, then writes (part of) the front chunk, or shuts down the write
/// side for the EOF marker. Returns `None` once the FIN is sent. A single `write` rather than
/// `write_all` keeps this cancel-safe: if dropped, nothing was written, or `written` says how
/// much was.
async fn send_front(
    dst: &mut OwnedWriteHalf,
    front: Option<&Chunk>,
    written: usize,
    send: Option<(Instant, usize)>,
) -> io::Result<Option<usize>> {
    let (Some(chunk), Some((at, limit))) = (front, send) else {
        return std::future::pending().await;
    };
    tokio::time::sleep_until(at).await;
    match &chunk.data {
        None => {
            dst.shutdown().await?;
            Ok(None)
        }
        Some(data) => {
            let rest = &data[written..];
            let n = dst.write(&rest[..rest.len().min(limit)]).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            Ok(Some(n))
        }
    }
}
