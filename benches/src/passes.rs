//! Passes and ranges. On a shared, noisy machine one run is not evidence, so `tether-bench all`
//! runs every workload in several passes, each pass running every client once, in an order
//! rotated from pass to pass (so that no client always goes first, or always right after the
//! heaviest one), and reports for every figure the median of the pass values with their range,
//! and for every comparison the Tether / peer ratio of each pass (two processes that ran seconds
//! apart) with the verdict of each: a verdict that is not the same in every pass is flagged.
//! Workloads whose single figure is a distribution (reconnect times) also pool their samples
//! over the passes for p10 / p50 / p90.
//!
//! A workload slots in with one function that runs one pass and adds its rows with the pass
//! number (`Results::add`, `add_all`, `add_samples`), and its comparisons in a `Comparison`
//! table; the report is built from those alone.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Whether a lower or a higher value of a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

impl Better {
    fn word(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }

    /// Is `ratio` (ours / theirs) a win?
    fn ahead(self, ratio: f64) -> bool {
        match self {
            Better::Lower => ratio < 1.0,
            Better::Higher => ratio > 1.0,
        }
    }
}

/// One comparison of the report: a figure of a workload, a Tether kind against a peer kind.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    pub workload: &'static str,
    pub figure: &'static str,
    pub ours: &'static str,
    pub peer: &'static str,
    pub better: Better,
}

/// Shorthand for the comparison tables.
pub const fn cmp(
    workload: &'static str,
    figure: &'static str,
    ours: &'static str,
    peer: &'static str,
    better: Better,
) -> Comparison {
    Comparison { workload, figure, ours, peer, better }
}

/// A figure compared with a fixed target instead of a peer (W6: 200,000 per second).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub workload: &'static str,
    pub figure: &'static str,
    pub ours: &'static str,
    pub value: f64,
    pub better: Better,
}

/// One figure of one client in one pass.
#[derive(Debug, Clone)]
struct Row {
    workload: String,
    client: String,
    figure: String,
    value: f64,
    pass: usize,
}

/// Samples pooled over passes, for a distribution.
#[derive(Debug, Clone)]
struct Samples {
    workload: String,
    client: String,
    figure: String,
    unit: String,
    values: Vec<f64>,
}

/// Everything measured in a run.
#[derive(Default)]
pub struct Results {
    rows: Vec<Row>,
    samples: Vec<Samples>,
    /// Every line as written to results.jsonl.
    jsonl: String,
    /// Lines printed under the tables (the load each pass started with).
    notes: Vec<String>,
}

impl Results {
    /// Records (and prints as a JSON line) one figure of one pass.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        pass: usize,
        workload: &str,
        client: &str,
        server: &str,
        figure: &str,
        value: f64,
        unit: &str,
    ) {
        let line = json!({
            "pass": pass + 1, "workload": workload, "client": client, "server": server,
            "figure": figure, "value": value, "unit": unit,
        });
        println!("{line}");
        let _ = writeln!(self.jsonl, "{line}");
        self.rows.push(Row {
            workload: workload.to_owned(),
            client: client.to_owned(),
            figure: figure.to_owned(),
            value,
            pass,
        });
    }

    /// Records the `{"figure","value","unit"}` lines a client process printed.
    pub fn add_all(
        &mut self,
        pass: usize,
        workload: &str,
        client: &str,
        server: &str,
        figures: &[Value],
    ) {
        for f in figures {
            let value = f["value"].as_f64().unwrap_or(f64::NAN);
            let figure = f["figure"].as_str().unwrap_or("?");
            let unit = f["unit"].as_str().unwrap_or("");
            self.add(pass, workload, client, server, figure, value, unit);
        }
    }

    /// Adds samples to a pooled distribution (kept in results.jsonl too).
    pub fn add_samples(
        &mut self,
        pass: usize,
        workload: &str,
        client: &str,
        figure: &str,
        unit: &str,
        values: &[f64],
    ) {
        let line = json!({
            "pass": pass + 1, "workload": workload, "client": client, "figure": figure,
            "unit": unit, "samples": values,
        });
        let _ = writeln!(self.jsonl, "{line}");
        let found = self
            .samples
            .iter_mut()
            .find(|s| s.workload == workload && s.client == client && s.figure == figure);
        match found {
            Some(set) => set.values.extend_from_slice(values),
            None => self.samples.push(Samples {
                workload: workload.to_owned(),
                client: client.to_owned(),
                figure: figure.to_owned(),
                unit: unit.to_owned(),
                values: values.to_vec(),
            }),
        }
    }

    /// Records (and prints as a JSON line) the figures of one trial of a pass, for workloads
    /// that run several trials a pass and add their median with [`Results::add`]: the lines
    /// keep the trials' own values in results.jsonl.
    pub fn trial(
        &mut self,
        pass: usize,
        workload: &str,
        client: &str,
        trial: usize,
        figures: Value,
    ) {
        let line = json!({
            "pass": pass + 1, "workload": workload, "client": client, "trial": trial + 1,
            "figures": figures,
        });
        println!("{line}");
        let _ = writeln!(self.jsonl, "{line}");
    }

    /// A line for the report (and results.jsonl).
    pub fn note(&mut self, text: String) {
        let _ = writeln!(self.jsonl, "{}", json!({ "note": text }));
        self.notes.push(text);
    }

    /// The lines of results.jsonl.
    pub fn jsonl(&self) -> &str {
        &self.jsonl
    }

    fn by_pass(&self, workload: &str, client: &str, figure: &str) -> BTreeMap<usize, f64> {
        self.rows
            .iter()
            .filter(|r| r.workload == workload && r.client == client && r.figure == figure)
            .filter(|r| r.value.is_finite())
            .map(|r| (r.pass, r.value))
            .collect()
    }
}

/// The kinds of a pass in the order they run: rotated by one each pass.
pub fn rotated<T: Copy>(kinds: &[T], pass: usize) -> Vec<T> {
    let mut order = kinds.to_vec();
    if !order.is_empty() {
        let shift = pass % order.len();
        order.rotate_left(shift);
    }
    order
}

/// The median of some values (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `median (min–max)`, or the one value.
fn spread(values: &[f64], digits: usize) -> String {
    let lowest = values.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let m = median(values);
    if values.len() < 2 {
        return format!("{m:.digits$}");
    }
    format!("{m:.digits$} ({lowest:.digits$}–{highest:.digits$})")
}

fn digits_for(values: &[f64]) -> usize {
    let m = median(values).abs();
    if m >= 1000.0 {
        0
    } else if m >= 10.0 {
        1
    } else {
        2
    }
}

/// A verdict over passes: `ahead 3/3`, `behind 3/3`, or `FLIPS: ahead 2/3`.
fn verdict(ratios: &[f64], better: Better) -> String {
    let ahead = ratios.iter().filter(|r| better.ahead(**r)).count();
    let n = ratios.len();
    match ahead {
        0 => format!("behind {n}/{n}"),
        a if a == n => format!("ahead {n}/{n}"),
        a => format!("FLIPS: ahead {a}/{n}"),
    }
}

/// The report: the comparisons, the targets, and the distributions, as Markdown tables, and
/// the list of verdicts that flipped.
pub fn report(results: &Results, comparisons: &[Comparison], targets: &[Target]) -> String {
    let mut out = String::from(
        "| workload | figure | Tether kind | Tether: median (range) | peer | peer: median (range) \
         | Tether / peer: median (range) | better | verdict over passes |\n\
         | --- | --- | --- | ---: | --- | ---: | ---: | --- | --- |\n",
    );
    let mut flips = Vec::new();
    for c in comparisons {
        let ours = results.by_pass(c.workload, c.ours, c.figure);
        let theirs = results.by_pass(c.workload, c.peer, c.figure);
        let ratios: Vec<f64> =
            ours.iter().filter_map(|(p, a)| theirs.get(p).map(|b| a / b)).collect();
        if ratios.is_empty() {
            continue;
        }
        let a: Vec<f64> = ours.values().copied().collect();
        let b: Vec<f64> = theirs.values().copied().collect();
        let verdict = verdict(&ratios, c.better);
        if verdict.starts_with("FLIPS") {
            flips.push(format!("{} {} {} vs {}", c.workload, c.figure, c.ours, c.peer));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {}x | {} | {verdict} |",
            c.workload,
            c.figure,
            c.ours,
            spread(&a, digits_for(&a)),
            c.peer,
            spread(&b, digits_for(&b)),
            spread(&ratios, 2),
            c.better.word(),
        );
    }
    for t in targets {
        let ours: Vec<f64> = results.by_pass(t.workload, t.ours, t.figure).into_values().collect();
        if ours.is_empty() {
            continue;
        }
        let ratios: Vec<f64> = ours.iter().map(|a| a / t.value).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | target | {} | {}x | {} | {} |",
            t.workload,
            t.figure,
            t.ours,
            spread(&ours, 0),
            t.value,
            spread(&ratios, 2),
            t.better.word(),
            verdict(&ratios, t.better).replace("ahead", "met").replace("behind", "missed"),
        );
    }
    if !results.samples.is_empty() {
        out.push_str(
            "\nDistributions (samples pooled over the passes):\n\n\
             | workload | client | figure | samples | p10 | p50 | p90 | max |\n\
             | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for s in &results.samples {
            let mut v = s.values.clone();
            v.sort_by(f64::total_cmp);
            let p = |q: f64| crate::measure::percentile(&v, q);
            let _ = writeln!(
                out,
                "| {} | {} | {} ({}) | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                s.workload,
                s.client,
                s.figure,
                s.unit,
                v.len(),
                p(10.0),
                p(50.0),
                p(90.0),
                v.last().copied().unwrap_or(f64::NAN),
            );
        }
    }
    if flips.is_empty() {
        out.push_str("\nNo verdict flipped between passes.\n");
    } else {
        let _ = writeln!(out, "\nVerdicts that flipped between passes: {}.", flips.join("; "));
    }
    for note in &results.notes {
        let _ = writeln!(out, "\n{note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_that_changes_between_passes_is_flagged() {
        let mut results = Results::default();
        for (pass, ours, theirs) in [(0, 10.0, 20.0), (1, 30.0, 20.0), (2, 10.0, 20.0)] {
            results.add(pass, "w9", "tether", "node", "p50_us", ours, "us");
            results.add(pass, "w9", "peer", "node", "p50_us", theirs, "us");
        }
        let table = report(&results, &[cmp("w9", "p50_us", "tether", "peer", Better::Lower)], &[]);
        assert!(table.contains("FLIPS: ahead 2/3"), "{table}");
        assert!(table.contains("10.0 (10.0–30.0)"), "{table}");
        assert!(table.contains("0.50 (0.50–1.50)x"), "{table}");
        assert!(table.contains("flipped between passes: w9 p50_us tether vs peer"), "{table}");
    }

    #[test]
    fn rotation_starts_each_pass_one_further() {
        assert_eq!(rotated(&["a", "b", "c"], 0), ["a", "b", "c"]);
        assert_eq!(rotated(&["a", "b", "c"], 1), ["b", "c", "a"]);
        assert_eq!(rotated(&["a", "b", "c"], 4), ["b", "c", "a"]);
    }
}
