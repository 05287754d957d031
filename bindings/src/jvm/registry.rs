//! Where the JNI entry points find what the Kotlin side holds by number: clients (by the id
//! [`Client::jvm_fast_path_id`] gives out) and running fast-path subscriptions.
//!
//! Clients are held weakly: the Kotlin object of the generated code owns the client, and the
//! registry never keeps one alive; a client's `Drop` removes its entry. Ids are never reused, so
//! a stale id finds nothing (the call then fails with `Closed`) and never another client.

use crate::client::Client;
use crate::task_handle::TaskHandle;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

/// Ids of clients and of subscriptions come from one counter: 0 is never given out.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Read on every fast-path emit (uncontended reads are a few nanoseconds), written only when a
/// client first asks for an id and when it is dropped.
static CLIENTS: RwLock<BTreeMap<u64, Weak<Client>>> = RwLock::new(BTreeMap::new());
/// Subscriptions made through the fast path, until the Kotlin side cancels them.
static SUBSCRIPTIONS: Mutex<BTreeMap<u64, Arc<TaskHandle>>> = Mutex::new(BTreeMap::new());

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

#[uniffi::export]
impl Client {
    /// This client's id for the Kotlin package's JNI fast path (the same on every call; never
    /// reused after the client is gone). Apps have no use for it.
    pub fn jvm_fast_path_id(self: Arc<Self>) -> u64 {
        *self.jvm_id.get_or_init(|| {
            let id = next_id();
            let mut clients = CLIENTS.write().unwrap_or_else(PoisonError::into_inner);
            clients.insert(id, Arc::downgrade(&self));
            id
        })
    }
}

/// The client with id `id`, if it is still alive.
pub(crate) fn client(id: u64) -> Option<Arc<Client>> {
    let clients = CLIENTS.read().unwrap_or_else(PoisonError::into_inner);
    clients.get(&id).and_then(Weak::upgrade)
}

/// Removes a client's entry (from its `Drop`).
pub(crate) fn forget(id: u64) {
    CLIENTS.write().unwrap_or_else(PoisonError::into_inner).remove(&id);
}

/// Keeps `subscription` running under a new id until [`cancel_subscription`].
#[cfg(not(target_os = "ios"))]
pub(crate) fn add_subscription(subscription: Arc<TaskHandle>) -> u64 {
    let id = next_id();
    SUBSCRIPTIONS.lock().unwrap_or_else(PoisonError::into_inner).insert(id, subscription);
    id
}

/// Stops the subscription with id `id` (nothing if there is none: cancelling is idempotent).
#[cfg(not(target_os = "ios"))]
pub(crate) fn cancel_subscription(id: u64) {
    let removed = SUBSCRIPTIONS.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    if let Some(subscription) = removed {
        subscription.cancel();
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::ClientConfig;

    /// A client that is never connected (nothing listens on the discard port).
    pub(in crate::jvm) fn offline_client() -> Arc<Client> {
        let config =
            ClientConfig { urls: vec!["ws://127.0.0.1:9".into()], ..ClientConfig::default() };
        Client::new(config, None).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_client_keeps_its_id_and_is_found_only_while_alive() {
        let client = offline_client();
        let id = client.clone().jvm_fast_path_id();
        assert_eq!(client.clone().jvm_fast_path_id(), id, "the same id on every call");
        assert!(super::client(id).is_some_and(|found| Arc::ptr_eq(&found, &client)));
        let other = offline_client();
        assert_ne!(other.clone().jvm_fast_path_id(), id);
        drop(client);
        assert!(super::client(id).is_none(), "the registry does not keep a client alive");
        assert!(!CLIENTS.read().unwrap_or_else(PoisonError::into_inner).contains_key(&id));
    }
}
