//! What the client processes measure and how they say it: resident memory, CPU time, wall-clock
//! timestamps that other processes can compare, percentiles, and the JSON lines on stdout.

use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Any error, for a benchmark that simply stops on the first one.
pub type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Microseconds since the Unix epoch: comparable between the processes of one machine (the
/// Node peers report `performance.timeOrigin + performance.now()` in the same unit).
pub fn epoch_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// This process's resident set size in bytes (`VmRSS` of /proc/self/status).
pub fn rss_bytes() -> R<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or("no VmRSS in /proc/self/status")?;
    Ok(kb * 1024)
}

/// CPU time (user + system, every thread, exited ones included) this process has used, in
/// milliseconds: `utime + stime` of /proc/self/stat, in clock ticks of 10 ms (Linux's USER_HZ
/// is 100 on every architecture it exports to user space).
pub fn cpu_ms() -> R<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3 of the man page, so utime (14) and stime (15) are at 11, 12.
    let ticks =
        |i: usize| -> R<f64> { Ok(fields.get(i).ok_or("short /proc/self/stat")?.parse::<f64>()?) };
    Ok((ticks(11)? + ticks(12)?) * 10.0)
}

/// What the scheduler counted for one thread (`/proc/self/task/*/schedstat`): CPU time (user +
/// system) in nanoseconds, where `cpu_ms` has 10 ms ticks, and how many times it was put on a
/// CPU, which for an idle process is how many times it woke up.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadSched {
    pub cpu_ns: u64,
    pub timeslices: u64,
}

/// [`ThreadSched`] of every live thread of this process, by thread id.
pub fn sched_by_thread() -> R<std::collections::HashMap<String, ThreadSched>> {
    let mut threads = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc/self/task")? {
        let entry = entry?;
        let Ok(schedstat) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue; // the thread exited meanwhile
        };
        // Three fields: time on a CPU (ns), time waiting for one (ns), times put on one.
        let fields: Vec<u64> =
            schedstat.split_whitespace().map(|v| v.parse().unwrap_or(0)).collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or(0);
        let sched = ThreadSched { cpu_ns: field(0), timeslices: field(2) };
        threads.insert(entry.file_name().to_string_lossy().into_owned(), sched);
    }
    Ok(threads)
}

/// What the threads used between two [`sched_by_thread`] snapshots: threads present in both
/// count their difference, new ones all of theirs; a thread that exited in between (an idle
/// blocking-pool thread) is left out rather than subtracted.
pub fn sched_between(
    before: &std::collections::HashMap<String, ThreadSched>,
    after: &std::collections::HashMap<String, ThreadSched>,
) -> ThreadSched {
    let mut total = ThreadSched::default();
    for (tid, now) in after {
        let then = before.get(tid).copied().unwrap_or_default();
        total.cpu_ns += now.cpu_ns.saturating_sub(then.cpu_ns);
        total.timeslices += now.timeslices.saturating_sub(then.timeslices);
    }
    total
}

/// CPU milliseconds used between two [`sched_by_thread`] snapshots (see [`sched_between`]).
pub fn cpu_ms_between(
    before: &std::collections::HashMap<String, ThreadSched>,
    after: &std::collections::HashMap<String, ThreadSched>,
) -> f64 {
    sched_between(before, after).cpu_ns as f64 / 1e6
}

/// The `p`-th percentile (nearest rank) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * p / 100.0).floor() as usize).min(sorted.len() - 1);
    sorted[index]
}

/// Prints one result line: `{"figure":..,"value":..,"unit":..}`.
pub fn figure(name: &str, value: f64, unit: &str) {
    println!("{}", json!({ "figure": name, "value": value, "unit": unit }));
}

/// Prints one control line (`{"event":..}` plus fields) for the orchestrator.
pub fn event(name: &str, mut fields: Value) {
    fields["event"] = json!(name);
    println!("{fields}");
}
