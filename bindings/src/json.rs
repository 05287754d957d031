//! JSON crosses the FFI as strings; the Swift and Kotlin sugar encodes and decodes them.

use crate::error::TetherError;
use serde_json::Value;

/// One JSON value (an event's payload).
pub(crate) fn parse_value(text: &str) -> Result<Value, TetherError> {
    Ok(serde_json::from_str(text)?)
}

/// A JSON array of arguments.
pub(crate) fn parse_args(text: &str) -> Result<Vec<Value>, TetherError> {
    match parse_value(text)? {
        Value::Array(args) => Ok(args),
        other => Err(TetherError::Other {
            message: format!("expected a JSON array of arguments, got {other}"),
        }),
    }
}

/// Arguments as a JSON array.
pub(crate) fn args_to_string(args: Vec<Value>) -> String {
    Value::Array(args).to_string()
}
