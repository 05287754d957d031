//! Server messages filtered by name and room and paced by a rate limit (seed 000's event
//! system: subscribe with filtering and throttling). The filter runs when the engine publishes,
//! so a subscription queues only what it wants; its queue is bounded like every stream's.

use super::bounded_queue::QueueItem;
use super::event_hub::EventHub;
use super::fanout::{Receiver, StreamMeter, TryRecv};
use super::rate_limit::{Coalescer, RateLimit};
use crate::config::StreamBuffer;
use crate::model::{Event, IncomingMessage, StreamStats};

/// Which server messages a [`Subscription`] delivers, how fast, and how much it may hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionOptions {
    /// Event names to deliver; empty means all.
    pub events: Vec<String>,
    /// Deliver only messages whose payload names this room (`room` / `roomId` field).
    pub room: Option<String>,
    /// Pacing. Throttle and debounce keep the latest message; older ones in a burst are skipped.
    pub rate: RateLimit,
    /// The bounds of this subscription's queue; `None` (the default): `Config::stream_buffer`.
    pub buffer: Option<StreamBuffer>,
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

    /// Bounded by `buffer` instead of the client's `stream_buffer` (a bound of zero is taken
    /// as one: see [`StreamBuffer::validate`]).
    ///
    /// ```
    /// use tether_core::{StreamBuffer, StreamOverflow, SubscriptionOptions};
    /// // An audit log: keep the first 10,000 and report the gap after them.
    /// let buffer = StreamBuffer::new(10_000, 16 << 20).with_overflow(StreamOverflow::DropNewest);
    /// let options = SubscriptionOptions::event("audit").with_buffer(buffer);
    /// assert_eq!(options.buffer, Some(buffer));
    /// ```
    pub fn with_buffer(mut self, buffer: StreamBuffer) -> Self {
        self.buffer = Some(buffer);
        self
    }

    fn matches(&self, message: &IncomingMessage) -> bool {
        (self.events.is_empty() || self.events.contains(&message.event))
            && self.room.as_deref().is_none_or(|room| message.room() == Some(room))
    }
}

/// What a [`Subscription`] delivers with [`Subscription::recv_item`]: a message, or where
/// messages were dropped because the reader fell behind its bounds.
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionItem {
    /// The next matching message.
    Message(IncomingMessage),
    /// `skipped` matching messages were dropped here, between the message before and the one
    /// after.
    Lagged {
        /// How many.
        skipped: u64,
    },
}

/// Server messages matching a filter, paced by a rate limit. Only matching messages are ever
/// queued; a reader that falls behind the bounds loses messages by the policy, and is told
/// where through [`Subscription::recv_item`] (`recv` skips the notices; [`Subscription::stats`]
/// counts the drops). Dropping it frees what it held.
#[derive(Debug)]
pub struct Subscription {
    receiver: Receiver<Event>,
    coalescer: Coalescer<IncomingMessage>,
    closed: bool,
}

impl Subscription {
    /// Subscribes to `hub`, filtering by `options` as events are published.
    pub(crate) fn new(hub: &EventHub, options: SubscriptionOptions) -> Self {
        let coalescer = Coalescer::new(options.rate);
        let buffer = options.buffer;
        let wanted = move |event: &Event| match event {
            Event::Message(message) => options.matches(message),
            _ => false,
        };
        let receiver = hub.subscribe(buffer, Some(Box::new(wanted)));
        Self { receiver, coalescer, closed: false }
    }

    /// The next matching message; `None` once the client stopped and nothing is held back.
    /// Lag notices are skipped (see [`Subscription::recv_item`]).
    pub async fn recv(&mut self) -> Option<IncomingMessage> {
        loop {
            match self.recv_item().await? {
                SubscriptionItem::Message(message) => return Some(message),
                SubscriptionItem::Lagged { .. } => {}
            }
        }
    }

    /// The next matching message, or a lag notice where messages were dropped (delivered as
    /// soon as it is reached, even while a throttle holds a message back); `None` once the
    /// client stopped and nothing is held back.
    ///
    /// ```no_run
    /// # async fn demo(client: tether_core::Client) {
    /// use tether_core::{SubscriptionItem, SubscriptionOptions};
    /// let mut prices = client.subscribe(SubscriptionOptions::event("price"));
    /// while let Some(item) = prices.recv_item().await {
    ///     match item {
    ///         SubscriptionItem::Message(price) => println!("{:?}", price.payload()),
    ///         SubscriptionItem::Lagged { skipped } => println!("missed {skipped}: refetch"),
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn recv_item(&mut self) -> Option<SubscriptionItem> {
        loop {
            let now = tokio::time::Instant::now().into_std();
            if let Some(held) = self.coalescer.poll(now) {
                return Some(SubscriptionItem::Message(held));
            }
            if self.closed {
                // Deliver what a debounce or throttle still holds before ending.
                return self.coalescer.discard().map(SubscriptionItem::Message);
            }
            let deadline = self.coalescer.deadline().map(tokio::time::Instant::from_std);
            tokio::select! {
                item = self.receiver.recv() => match item {
                    Some(item) => {
                        if let Some(ready) = self.take(item) {
                            return Some(ready);
                        }
                    }
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

    /// What a queued item makes ready for the reader now (a throttle may hold a message back).
    fn take(&mut self, item: QueueItem<Event>) -> Option<SubscriptionItem> {
        match item {
            QueueItem::Item(Event::Message(message)) => {
                let now = tokio::time::Instant::now().into_std();
                self.coalescer.offer(message, now).map(SubscriptionItem::Message)
            }
            // The filter queues messages only.
            QueueItem::Item(_) => None,
            QueueItem::Lagged(skipped) => Some(SubscriptionItem::Lagged { skipped }),
        }
    }

    /// A matching message if one is ready now, without waiting (`None`: nothing ready, or the
    /// client stopped and nothing is held back). Lag notices are skipped.
    pub fn try_recv(&mut self) -> Option<IncomingMessage> {
        loop {
            match self.try_recv_item()? {
                SubscriptionItem::Message(message) => return Some(message),
                SubscriptionItem::Lagged { .. } => {}
            }
        }
    }

    /// A message or lag notice if one is ready now, without waiting.
    pub fn try_recv_item(&mut self) -> Option<SubscriptionItem> {
        let now = tokio::time::Instant::now().into_std();
        if let Some(held) = self.coalescer.poll(now) {
            return Some(SubscriptionItem::Message(held));
        }
        loop {
            match self.receiver.try_recv() {
                TryRecv::Ready(item) => {
                    if let Some(ready) = self.take(item) {
                        return Some(ready);
                    }
                }
                TryRecv::Empty => return None,
                TryRecv::Closed => {
                    self.closed = true;
                    return self.coalescer.discard().map(SubscriptionItem::Message);
                }
            }
        }
    }

    /// Waits for the next matching message, then takes up to `max - 1` more that are ready
    /// at once: one wake-up (and, through the bindings, one foreign call) per burst instead of
    /// one per message. Empty once the client stopped and nothing is held back. Lag notices
    /// are skipped (see [`Subscription::recv_item_batch`]).
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
        let first = self.recv().await;
        fill(first, max, || self.try_recv())
    }

    /// [`Subscription::recv_batch`] with the lag notices in their places: waits for the next
    /// item, then takes up to `max - 1` more that are ready. Empty once the client stopped and
    /// nothing is held back.
    pub async fn recv_item_batch(&mut self, max: usize) -> Vec<SubscriptionItem> {
        let first = self.recv_item().await;
        fill(first, max, || self.try_recv_item())
    }

    /// This subscription's queue now: what waits, the peaks, and what was dropped.
    pub fn stats(&self) -> StreamStats {
        self.receiver.stats()
    }

    /// A handle that reads [`Subscription::stats`] from elsewhere while this is being read.
    pub fn meter(&self) -> StreamMeter {
        self.receiver.meter()
    }
}

/// `first` and then what `next` has ready, up to `max` in all (empty without a first).
fn fill<T>(first: Option<T>, max: usize, mut next: impl FnMut() -> Option<T>) -> Vec<T> {
    let Some(first) = first else { return Vec::new() };
    let mut batch = vec![first];
    while batch.len() < max {
        match next() {
            Some(item) => batch.push(item),
            None => break,
        }
    }
    batch
}

#[cfg(test)]
mod tests;
