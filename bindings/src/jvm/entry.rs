//! The JNI entry points of `dev.tether.JvmFastPath` (Kotlin), found by the JVM under their
//! `Java_<class>_<method>` names.
//!
//! `unsafe_code` is allowed in this file for one reason: `#[no_mangle]`, without which the JVM
//! cannot find a native method (the lint counts it as unsafe because two items of one name would
//! clash at link time; these names are unique to this file). There is no `unsafe` block: every
//! JNI call goes through the `jni` crate's checked API. Each function catches panics, so none
//! crosses into the JVM, and turns bad input into an error for the Kotlin side.
#![allow(unsafe_code)]

use super::{delivery, emit, registry, threads, upcall::KotlinReceiver};
use crate::buffer::{StreamBufferOptions, StreamOverflow};
use crate::error::TetherError;
use crate::event::{MessageFilter, RateLimit};
use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString};
use jni::sys::{jboolean, jint, jlong, jstring, JNI_FALSE, JNI_TRUE};
use jni::JNIEnv;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// `tryEmit(client, event, payloadJson)`: null when handed over, otherwise the error as
/// `emit::error_text` writes it.
#[no_mangle]
pub extern "system" fn Java_dev_tether_JvmFastPath_tryEmit<'local>(
    env: JNIEnv<'local>,
    _class: JClass<'local>,
    client: jlong,
    event: JByteArray<'local>,
    payload_json: JByteArray<'local>,
) -> jstring {
    let outcome = guarded(|| {
        let event = env.convert_byte_array(&event).map_err(jni_error)?;
        let payload_json = env.convert_byte_array(&payload_json).map_err(jni_error)?;
        emit::try_emit(id(client), event, payload_json)
    });
    match outcome {
        Ok(()) => std::ptr::null_mut(),
        // If even the string cannot be made, the JVM has an OutOfMemoryError pending, which is
        // what the Kotlin caller gets.
        Err(error) => {
            env.new_string(emit::error_text(&error)).map_or(std::ptr::null_mut(), JString::into_raw)
        }
    }
}

/// `knows(client)`: whether this copy of the library has the client, i.e. whether the library
/// the JVM loaded for JNI is the one uniffi's JNA code uses (otherwise the Kotlin side keeps JNA).
#[no_mangle]
pub extern "system" fn Java_dev_tether_JvmFastPath_knows<'local>(
    _env: JNIEnv<'local>,
    _class: JClass<'local>,
    client: jlong,
) -> jboolean {
    match guarded(|| Ok(registry::client(id(client)).is_some())) {
        Ok(true) => JNI_TRUE,
        _ => JNI_FALSE,
    }
}

/// `subscribeMessages(client, events, room, rateKind, ratePeriodMs, bufferItems, bufferBytes,
/// bufferOverflow, maxBurst, receiver)`: the subscription's id, or 0 if it could not be made
/// (the Kotlin side then subscribes through JNA). `rateKind`: 0 none, 1 unlimited, 2 throttle,
/// 3 debounce. `bufferItems` negative: no buffer of its own (the config's); `bufferOverflow`:
/// 0 the default, 1 drop oldest, 2 drop newest.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the JNI signature: the environment, the class, then the method's arguments
pub extern "system" fn Java_dev_tether_JvmFastPath_subscribeMessages<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    client: jlong,
    events: JObjectArray<'local>,
    room: JString<'local>,
    rate_kind: jint,
    rate_period_ms: jlong,
    buffer_items: jlong,
    buffer_bytes: jlong,
    buffer_overflow: jint,
    max_burst: jint,
    receiver: JObject<'local>,
) -> jlong {
    let subscribed = guarded(|| {
        let client = registry::client(id(client)).ok_or_else(emit::released)?;
        let filter = MessageFilter {
            events: strings(&mut env, &events)?,
            room: if room.is_null() { None } else { Some(string(&mut env, &room)?) },
            rate: rate(rate_kind, rate_period_ms)?,
            buffer: buffer(buffer_items, buffer_bytes, buffer_overflow)?,
        };
        let vm = Arc::new(env.get_java_vm().map_err(jni_error)?);
        let receiver = env.new_global_ref(receiver).map_err(jni_error)?;
        let max_burst = usize::try_from(max_burst).unwrap_or(1);
        let sink = KotlinReceiver::new(vm, receiver);
        let handle = delivery::subscribe(&client, filter, max_burst, threads::pool()?, sink);
        Ok(registry::add_subscription(handle))
    });
    match subscribed {
        Ok(subscription) => jlong::try_from(subscription).unwrap_or(0),
        Err(error) => {
            tracing::warn!(%error, "no JVM fast-path subscription; the JNA path is used");
            0
        }
    }
}

/// `cancel(subscription)`: stops it; once this returns no new burst is handed over.
#[no_mangle]
pub extern "system" fn Java_dev_tether_JvmFastPath_cancel<'local>(
    _env: JNIEnv<'local>,
    _class: JClass<'local>,
    subscription: jlong,
) {
    let _ = guarded(|| {
        registry::cancel_subscription(id(subscription));
        Ok(())
    });
}

/// Runs an entry point's body; a panic becomes an error instead of unwinding into the JVM.
fn guarded<T>(body: impl FnOnce() -> Result<T, TetherError>) -> Result<T, TetherError> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(TetherError::Other { message: "internal error: a JNI call panicked".into() })
    })
}

/// Ids are handed to Kotlin as `Long`; a negative one was never given out and finds nothing.
fn id(value: jlong) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn jni_error(error: jni::errors::Error) -> TetherError {
    TetherError::Other { message: format!("JNI: {error}") }
}

fn string(env: &mut JNIEnv<'_>, text: &JString<'_>) -> Result<String, TetherError> {
    Ok(env.get_string(text).map_err(jni_error)?.into())
}

fn strings(env: &mut JNIEnv<'_>, array: &JObjectArray<'_>) -> Result<Vec<String>, TetherError> {
    let len = env.get_array_length(array).map_err(jni_error)?;
    (0..len)
        .map(|i| {
            let element = env.get_object_array_element(array, i).map_err(jni_error)?;
            string(env, &JString::from(element))
        })
        .collect()
}

fn buffer(
    items: jlong,
    bytes: jlong,
    overflow: jint,
) -> Result<Option<StreamBufferOptions>, TetherError> {
    let Ok(max_items) = u64::try_from(items) else { return Ok(None) };
    let overflow = match overflow {
        0 => None,
        1 => Some(StreamOverflow::DropOldest),
        2 => Some(StreamOverflow::DropNewest),
        other => return Err(TetherError::Other { message: format!("unknown overflow {other}") }),
    };
    let max_bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    Ok(Some(StreamBufferOptions { max_items, max_bytes, overflow }))
}

fn rate(kind: jint, period_ms: jlong) -> Result<Option<RateLimit>, TetherError> {
    let period_ms = u64::try_from(period_ms).unwrap_or(0);
    match kind {
        0 => Ok(None),
        1 => Ok(Some(RateLimit::Unlimited)),
        2 => Ok(Some(RateLimit::Throttle { period_ms })),
        3 => Ok(Some(RateLimit::Debounce { period_ms })),
        other => Err(TetherError::Other { message: format!("unknown rate kind {other}") }),
    }
}
