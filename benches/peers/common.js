// What the benchmarks' Node client processes share (js-client.js, phoenix-client.js): their
// flags, the line protocol (JSON lines out, commands in), percentiles, and W4's method for
// memory per connection.
"use strict";

const readline = require("readline");
const { performance } = require("perf_hooks");

// `--workload W --url U --n N --clients C [--transports T]` as an object; `N` and `CLIENTS`.
function parseArgs() {
  const args = { workload: "", url: "", n: 0, clients: 1 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, "")] = argv[i + 1];
  return { args, N: Number(args.n), CLIENTS: Math.max(1, Number(args.clients)) };
}

const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const figure = (name, value, unit) => print({ figure: name, value, unit });
const epochUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const gc = () => { if (global.gc) { global.gc(); global.gc(); } };

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

// The orchestrator's commands on stdin: each call resolves with the next line (trimmed), or
// undefined once stdin is closed.
function lines() {
  const rl = readline.createInterface({ input: process.stdin });
  const queue = [];
  let waiter = null;
  const deliver = (l) => { if (waiter) { const w = waiter; waiter = null; w(l); } else queue.push(l); };
  rl.on("line", (l) => deliver(l.trim()));
  rl.on("close", () => deliver(undefined));
  return () => new Promise((r) => { if (queue.length) r(queue.shift()); else waiter = r; });
}

// Opens n connections, 50 at a time; `open(i)` resolves with the i-th.
async function openMany(n, open) {
  const all = [];
  for (let i = 0; i < n; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 50); j++) batch.push(open(j));
    all.push(...(await Promise.all(batch)));
  }
  return all;
}

// W4's method: one connection first (one-time costs in the baseline), then n more; prints
// bytes_per_conn, the growth of the resident set per connection after gc. `close(c)` closes one.
async function memoryPerConnection(n, open, close) {
  const warm = await open(n);
  await sleep(1000);
  gc();
  const before = process.memoryUsage().rss;
  const all = await openMany(n, open);
  await sleep(2000);
  gc();
  const after = process.memoryUsage().rss;
  figure("bytes_per_conn", (after - before) / n, "B");
  all.forEach(close);
  close(warm);
}

// Runs the workload named by --workload from `workloads`, then exits (1 on an error).
function main(workloads, name) {
  workloads[name]()
    .then(() => process.exit(0))
    .catch((e) => { process.stderr.write(String((e && e.stack) || e) + "\n"); process.exit(1); });
}

module.exports = { parseArgs, print, figure, epochUs, sleep, gc, percentile, lines, openMany, memoryPerConnection, main };
