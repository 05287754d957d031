//! The JVM fast path: the two calls made once per message, `tryEmit` and a message
//! subscription's delivery, straight through JNI instead of uniffi's JNA calls (W6 of
//! BENCHMARKS.md: through JNA each call cost tens of microseconds, most of it JNA allocating,
//! registering and cleaning a `Memory` for every by-value buffer).
//!
//! The Kotlin package (`kotlin/src/main/kotlin/dev/tether/JvmFastPath.kt`) asks a client for
//! its id through uniffi ([`registry`]), loads the same library for JNI, and from then on makes
//! those two calls through the entry points of `entry.rs`; where they cannot be loaded it keeps
//! using the generated JNA code, which stays the reference for what each call does. Nothing here
//! decides anything: `try_emit` calls [`crate::Client::try_emit`], delivery reads the core's
//! subscription as [`crate::Client::subscribe_messages`] does.
//!
//! - [`registry`]: client ids (weak, so the JVM side never keeps a client alive) and running
//!   subscriptions.
//! - `emit`: `try_emit` from the JNI's bytes, errors as one string the Kotlin side rethrows.
//! - `delivery`: a subscription's task: ready messages in bursts, one hand-over per burst,
//!   bounded like every subscription, with the gaps where a slow listener lost messages.
//! - `wire`: the byte layout of a burst (messages and gaps) for the Kotlin side to read.
//! - `upcall`: the hand-over to a Kotlin receiver object through JNI.
//! - `threads`: the threads that make those calls, never shared with JNA's callbacks.
//! - `entry`: the `#[no_mangle]` JNI functions, the only code of the crate allowed `unsafe_code`
//!   (for the attribute, not for `unsafe` blocks), each behind `catch_unwind`.

pub mod registry;

#[cfg(not(target_os = "ios"))]
mod delivery;
#[cfg(not(target_os = "ios"))]
mod emit;
#[cfg(not(target_os = "ios"))]
mod entry;
#[cfg(not(target_os = "ios"))]
mod threads;
#[cfg(not(target_os = "ios"))]
mod upcall;
#[cfg(not(target_os = "ios"))]
mod wire;
