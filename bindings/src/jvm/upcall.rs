//! The hand-over of a burst to the Kotlin receiver (`dev.tether.MessageReceiver.deliver`),
//! from a thread of the runtime's blocking pool attached to the JVM. Only the `jni` crate's
//! checked calls: the method is looked up by name and signature on every burst (a few hundred
//! nanoseconds, shared by the burst's messages).

use super::delivery::BurstSink;
use jni::errors::Error as JniError;
use jni::objects::{GlobalRef, JObjectArray, JString, JValue};
use jni::{JNIEnv, JavaVM};
use std::sync::Arc;

/// The Kotlin method each burst is handed to: `fun deliver(burst: ByteArray, count: Int):
/// Array<String>?` (what the app's listener threw, or null). Android apps keep it from R8
/// (`kotlin/android/consumer-rules.pro`).
const METHOD: &str = "deliver";
const SIGNATURE: &str = "([BI)[Ljava/lang/String;";
/// Local references one burst makes: the array, the result, and one element at a time.
const LOCAL_FRAME: i32 = 8;

/// A Kotlin `MessageReceiver`, held by a global reference for as long as the subscription runs.
pub(super) struct KotlinReceiver {
    vm: Arc<JavaVM>,
    receiver: GlobalRef,
}

impl KotlinReceiver {
    pub(super) fn new(vm: Arc<JavaVM>, receiver: GlobalRef) -> Self {
        Self { vm, receiver }
    }

    fn call(&self, burst: &[u8], count: u32) -> Result<Vec<String>, JniError> {
        // Attached once per pool thread, as a daemon (the JVM may exit while the pool idles);
        // the thread detaches itself when the pool retires it.
        let mut env = self.vm.attach_current_thread_as_daemon()?;
        // The thread never returns to Java, so its local references are freed by this frame.
        env.with_local_frame(LOCAL_FRAME, |env| self.call_in_frame(env, burst, count))
    }

    fn call_in_frame(
        &self,
        env: &mut JNIEnv<'_>,
        burst: &[u8],
        count: u32,
    ) -> Result<Vec<String>, JniError> {
        let bytes = env.byte_array_from_slice(burst)?;
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        let args = [JValue::Object(&bytes), JValue::Int(count)];
        let returned = match env.call_method(&self.receiver, METHOD, SIGNATURE, &args) {
            Ok(value) => value.l()?,
            // The receiver catches what listeners throw; what escapes it (an Error such as
            // StackOverflowError) is cleared here so the thread can go on calling.
            Err(JniError::JavaException) => {
                let thrown = env.exception_occurred();
                env.exception_clear()?;
                let what = match thrown {
                    Ok(thrown) => describe(env, thrown.into()),
                    Err(_) => "an exception".to_owned(),
                };
                return Ok(vec![format!("the receiver threw {what}")]);
            }
            Err(e) => return Err(e),
        };
        if returned.is_null() {
            return Ok(Vec::new());
        }
        let thrown = JObjectArray::from(returned);
        let mut texts = Vec::new();
        for i in 0..env.get_array_length(&thrown)? {
            let text = JString::from(env.get_object_array_element(&thrown, i)?);
            texts.push(env.get_string(&text)?.into());
        }
        Ok(texts)
    }
}

/// `toString()` of a throwable, for the log.
fn describe(env: &mut JNIEnv<'_>, thrown: jni::objects::JObject<'_>) -> String {
    let text = env
        .call_method(&thrown, "toString", "()Ljava/lang/String;", &[])
        .and_then(|value| value.l())
        .and_then(|text| env.get_string(&JString::from(text)).map(String::from));
    let _ = env.exception_clear();
    text.unwrap_or_else(|_| "an exception".to_owned())
}

impl BurstSink for KotlinReceiver {
    fn deliver(&mut self, burst: &[u8], count: u32) -> Vec<String> {
        self.call(burst, count)
            .unwrap_or_else(|e| vec![format!("the JNI call to the receiver failed: {e}")])
    }
}
