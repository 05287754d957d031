//! Streams the app reads: every event, or server messages filtered by name and room and paced
//! by a rate limit (seed 000's event system: subscribe with filtering and throttling).

use super::rate_limit::{Coalescer, RateLimit};
use crate::model::{Event, IncomingMessage};
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Every event of a client, in order, from the moment it was created.
#[derive(Debug)]
pub struct EventStream {
    receiver: mpsc::UnboundedReceiver<Event>,
}

impl EventStream {
    pub(crate) fn new(receiver: mpsc::UnboundedReceiver<Event>) -> Self {
        Self { receiver }
    }

    /// The next event; `None` once the client's driver has stopped.
    pub async fn recv(&mut self) -> Option<Event> {
        self.receiver.recv().await
    }

    /// An event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.receiver.try_recv().ok()
    }
}

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.receiver.poll_recv(cx)
    }
}

/// Which server messages a [`Subscription`] delivers, and how fast.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionOptions {
    /// Event names to deliver; empty means all.
    pub events: Vec<String>,
    /// Deliver only messages whose payload names this room (`room` / `roomId` field).
    pub room: Option<String>,
    /// Pacing. Throttle and debounce keep the latest message; older ones in a burst are skipped.
    pub rate: RateLimit,
}

impl SubscriptionOptions {
    /// Messages of one event name.
    ///
    /// ```
    /// let options = tether_core::SubscriptionOptions::event("pricing-updated");
    /// assert_eq!(options.events, vec!["pricing-updated".to_owned()]);
    /// ```
    pub fn event(name: impl Into<String>) -> Self {
        Self { events: vec![name.into()], ..Self::default() }
    }

    /// Only messages for `room`.
    ///
    /// ```
    /// let options = tether_core::SubscriptionOptions::event("cursor-moved").in_room("estimate-1");
    /// ```
    pub fn in_room(mut self, room: impl Into<String>) -> Self {
        self.room = Some(room.into());
        self
    }

    /// Paced by `rate`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::{RateLimit, SubscriptionOptions};
    /// let options = SubscriptionOptions::event("cursor-moved").with_rate(RateLimit::Throttle(Duration::from_millis(50)));
    /// ```
    pub fn with_rate(mut self, rate: RateLimit) -> Self {
        self.rate = rate;
        self
    }

    fn matches(&self, message: &IncomingMessage) -> bool {
        (self.events.is_empty() || self.events.contains(&message.event))
            && self.room.as_deref().is_none_or(|room| message.room() == Some(room))
    }
}

/// Server messages matching a filter, paced by a rate limit.
#[derive(Debug)]
pub struct Subscription {
    receiver: mpsc::UnboundedReceiver<Event>,
    options: SubscriptionOptions,
    coalescer: Coalescer<IncomingMessage>,
    closed: bool,
}

impl Subscription {
    pub(crate) fn new(
        receiver: mpsc::UnboundedReceiver<Event>,
        options: SubscriptionOptions,
    ) -> Self {
        let coalescer = Coalescer::new(options.rate);
        Self { receiver, options, coalescer, closed: false }
    }

    /// The next matching message; `None` once the client stopped and nothing is held back.
    pub async fn recv(&mut self) -> Option<IncomingMessage> {
        loop {
            let now = tokio::time::Instant::now().into_std();
            if let Some(held) = self.coalescer.poll(now) {
                return Some(held);
            }
            if self.closed {
                // Deliver what a debounce or throttle still holds before ending.
                return self.coalescer.discard();
            }
            let deadline = self.coalescer.deadline().map(tokio::time::Instant::from_std);
            tokio::select! {
                event = self.receiver.recv() => match event {
                    Some(Event::Message(message)) if self.options.matches(&message) => {
                        let now = tokio::time::Instant::now().into_std();
                        if let Some(ready) = self.coalescer.offer(message, now) {
                            return Some(ready);
                        }
                    }
                    Some(_) => {}
                    None => self.closed = true,
                },
                () = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
    }
}

impl Subscription {
    /// A matching message if one is ready now, without waiting (`None`: nothing ready, or the
    /// client stopped and nothing is held back).
    pub fn try_recv(&mut self) -> Option<IncomingMessage> {
        let now = tokio::time::Instant::now().into_std();
        if let Some(held) = self.coalescer.poll(now) {
            return Some(held);
        }
        loop {
            match self.receiver.try_recv() {
                Ok(Event::Message(message)) if self.options.matches(&message) => {
                    if let Some(ready) = self.coalescer.offer(message, now) {
                        return Some(ready);
                    }
                }
                Ok(_) => {}
                Err(mpsc::error::TryRecvError::Empty) => return None,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.closed = true;
                    return self.coalescer.discard();
                }
            }
        }
    }

    /// Waits for the next matching message, then takes up to `max - 1` more that are ready
    /// at once: one wake-up (and, through the bindings, one foreign call) per burst instead of
    /// one per message. Empty once the client stopped and nothing is held back.
    ///
    /// ```no_run
    /// # async fn demo(client: tether_core::Client) {
    /// let mut ticks = client.subscribe(tether_core::SubscriptionOptions::event("tick"));
    /// loop {
    ///     let batch = ticks.recv_batch(256).await;
    ///     if batch.is_empty() {
    ///         break;
    ///     }
    ///     println!("{} ticks", batch.len());
    /// }
    /// # }
    /// ```
    pub async fn recv_batch(&mut self, max: usize) -> Vec<IncomingMessage> {
        let Some(first) = self.recv().await else { return Vec::new() };
        let mut batch = vec![first];
        while batch.len() < max {
            match self.try_recv() {
                Some(message) => batch.push(message),
                None => break,
            }
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn message(event: &str, room: &str, n: u64) -> Event {
        Event::Message(IncomingMessage {
            namespace: "/".into(),
            event: event.into(),
            data: vec![json!({"room": room, "n": n})],
            binary: vec![],
            ack_id: None,
            offset: None,
        })
    }

    fn n(m: &IncomingMessage) -> u64 {
        m.payload().and_then(|p| p["n"].as_u64()).unwrap_or(u64::MAX)
    }

    #[tokio::test(start_paused = true)]
    async fn filters_by_event_name_and_room() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut sub = Subscription::new(rx, SubscriptionOptions::event("price").in_room("a"));
        for e in [message("cursor", "a", 1), message("price", "b", 2), message("price", "a", 3)] {
            let _ = tx.send(e);
        }
        drop(tx);
        assert_eq!(sub.recv().await.map(|m| n(&m)), Some(3));
        assert!(sub.recv().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_takes_what_is_ready_in_order_up_to_its_size() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut sub = Subscription::new(rx, SubscriptionOptions::event("price"));
        for i in 0..5 {
            let _ = tx.send(message("price", "a", i));
            let _ = tx.send(message("cursor", "a", 100 + i));
        }
        let first: Vec<u64> = sub.recv_batch(3).await.iter().map(n).collect();
        assert_eq!(first, vec![0, 1, 2], "filtered, in order, at most three");
        let rest: Vec<u64> = sub.recv_batch(10).await.iter().map(n).collect();
        assert_eq!(rest, vec![3, 4], "only what was ready; it does not wait to fill up");
        assert_eq!(sub.try_recv().map(|m| n(&m)), None, "nothing ready");
        let _ = tx.send(message("price", "a", 5));
        drop(tx);
        assert_eq!(sub.try_recv().map(|m| n(&m)), Some(5));
        assert!(sub.recv_batch(10).await.is_empty(), "ended");
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_respects_the_throttle() {
        let (tx, rx) = mpsc::unbounded_channel();
        let rate = RateLimit::Throttle(Duration::from_millis(100));
        let mut sub = Subscription::new(rx, SubscriptionOptions::event("cursor").with_rate(rate));
        for i in 0..10 {
            let _ = tx.send(message("cursor", "a", i));
        }
        let first: Vec<u64> = sub.recv_batch(10).await.iter().map(n).collect();
        assert_eq!(first, vec![0], "the rest of the burst is held for the period");
        let second: Vec<u64> = sub.recv_batch(10).await.iter().map(n).collect();
        assert_eq!(second, vec![9], "then the latest");
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_delivers_the_first_then_the_latest_per_period() {
        let (tx, rx) = mpsc::unbounded_channel();
        let rate = RateLimit::Throttle(Duration::from_millis(100));
        let mut sub = Subscription::new(rx, SubscriptionOptions::event("cursor").with_rate(rate));
        for i in 0..10 {
            let _ = tx.send(message("cursor", "a", i));
        }
        assert_eq!(sub.recv().await.map(|m| n(&m)), Some(0));
        let started = tokio::time::Instant::now();
        assert_eq!(sub.recv().await.map(|m| n(&m)), Some(9), "the burst collapses to its latest");
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(100),
            "after one period of virtual time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn debounce_waits_for_quiet_and_flushes_on_close() {
        let (tx, rx) = mpsc::unbounded_channel();
        let rate = RateLimit::Debounce(Duration::from_millis(300));
        let mut sub = Subscription::new(rx, SubscriptionOptions::default().with_rate(rate));
        let _ = tx.send(message("typing", "a", 1));
        let _ = tx.send(message("typing", "a", 2));
        let started = tokio::time::Instant::now();
        assert_eq!(sub.recv().await.map(|m| n(&m)), Some(2));
        assert_eq!(started.elapsed(), Duration::from_millis(300));
        let _ = tx.send(message("typing", "a", 3));
        drop(tx);
        assert_eq!(
            sub.recv().await.map(|m| n(&m)),
            Some(3),
            "held item delivered when the client stops"
        );
    }
}
