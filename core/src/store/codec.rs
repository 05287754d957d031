//! How the store's columns hold what SQLite has no type for: binary attachments (one blob), and
//! times (milliseconds in `INTEGER`s). Decoding never panics: a value that does not decode is a
//! corrupt record, reported as such.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Attachments as one blob: for each, its length (4 bytes, little-endian) then its bytes.
pub(super) fn encode_attachments(attachments: &[Vec<u8>]) -> Option<Vec<u8>> {
    if attachments.is_empty() {
        return None;
    }
    let total: usize = attachments.iter().map(|a| 4 + a.len()).sum();
    let mut blob = Vec::with_capacity(total);
    for attachment in attachments {
        // An attachment is at most `max_message_bytes`, validated far below 4 GiB.
        let len = u32::try_from(attachment.len()).unwrap_or(u32::MAX);
        blob.extend_from_slice(&len.to_le_bytes());
        blob.extend_from_slice(attachment);
    }
    Some(blob)
}

/// The attachments of a blob made by [`encode_attachments`]; an error names what is wrong.
pub(super) fn decode_attachments(blob: Option<&[u8]>) -> Result<Vec<Vec<u8>>, String> {
    let mut rest = blob.unwrap_or_default();
    let mut attachments = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| format!("attachment {}: truncated length", attachments.len()))?;
        let len = u32::from_le_bytes(*len) as usize;
        if tail.len() < len {
            return Err(format!(
                "attachment {}: {len} bytes announced, {} left",
                attachments.len(),
                tail.len()
            ));
        }
        let (bytes, tail) = tail.split_at(len);
        attachments.push(bytes.to_vec());
        rest = tail;
    }
    Ok(attachments)
}

/// Milliseconds since the Unix epoch (0 for a clock set before it).
pub(super) fn wall_millis(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, millis)
}

/// A duration in whole milliseconds (saturating: durations are at most a year).
pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// What is left of `left_ms` (as saved) after `elapsed_ms`; never negative.
pub(super) fn remaining(left_ms: i64, elapsed_ms: i64) -> Duration {
    let left = left_ms.saturating_sub(elapsed_ms.max(0)).max(0);
    Duration::from_millis(u64::try_from(left).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_round_trip_empty_ones_included() {
        let attachments = vec![vec![1, 2, 3], Vec::new(), vec![0xff; 300]];
        let blob = encode_attachments(&attachments);
        assert_eq!(decode_attachments(blob.as_deref()), Ok(attachments));
        assert_eq!(encode_attachments(&[]), None);
        assert_eq!(decode_attachments(None), Ok(Vec::new()));
    }

    #[test]
    fn a_damaged_blob_is_an_error_not_a_panic() {
        assert!(decode_attachments(Some(&[1, 0])).is_err());
        assert!(decode_attachments(Some(&[9, 0, 0, 0, 1])).is_err());
        assert!(decode_attachments(Some(&[0xff, 0xff, 0xff, 0xff])).is_err());
    }

    #[test]
    fn remaining_time_counts_down_and_stops_at_zero() {
        assert_eq!(remaining(5_000, 2_000), Duration::from_secs(3));
        assert_eq!(remaining(5_000, 9_000), Duration::ZERO);
        // A clock set back makes the elapsed time negative: counted as none, never as extra.
        assert_eq!(remaining(5_000, -60_000), Duration::from_secs(5));
    }
}
