#!/usr/bin/env node
// The official Phoenix client's side of the Phoenix workloads (`phoenix` 1.8.16 from
// tests/servers/phoenix/node_modules, CommonJS, with `ws` as its WebSocket), driven by
// `tether-bench` with the same line protocol as its own client processes (benches/src/phoenix.rs
// says what each workload does; both clients do the same thing):
//
//   node --expose-gc benches/peers/phoenix-client.js --workload phx1 --url ws://127.0.0.1:PORT [--n N] [--clients C]
//
// stdout: JSON lines; {"figure":NAME,"value":V,"unit":U} are results, {"event":...} is control.
// stdin (phx3): "down" (the server was killed), "up" (it listens again).
"use strict";

const path = require("path");
const readline = require("readline");
const { performance } = require("perf_hooks");
const modules = path.join(__dirname, "../../tests/servers/phoenix/node_modules");
const WebSocket = require(path.join(modules, "ws"));
const { Socket } = require(path.join(modules, "phoenix"));

const args = { workload: "", url: "", n: 0, clients: 1 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, "")] = argv[i + 1];
const N = Number(args.n);
const CLIENTS = Math.max(1, Number(args.clients));
// Pushes awaiting their reply at once in phx2 (benches/src/phoenix.rs has the same).
const WINDOW = 100;
const PAYLOAD_64 = "e".repeat(64);

const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const figure = (name, value, unit) => print({ figure: name, value, unit });
const epochUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const gc = () => { if (global.gc) { global.gc(); global.gc(); } };

// A socket with the client's defaults (reconnect and rejoin schedules included).
function socket() {
  const s = new Socket(`${args.url}/socket`, { transport: WebSocket });
  s.connect();
  return s;
}

// Joins `topic` on `s`; resolves with the channel once joined.
function join(s, topic) {
  const channel = s.channel(topic, {});
  return new Promise((resolve, reject) => {
    channel.join()
      .receive("ok", () => resolve(channel))
      .receive("error", (e) => reject(new Error(`join ${topic}: ${JSON.stringify(e)}`)))
      .receive("timeout", () => reject(new Error(`join ${topic}: timeout`)));
  });
}

function ping(channel) {
  return new Promise((resolve, reject) => {
    channel.push("ping", PAYLOAD_64)
      .receive("ok", resolve)
      .receive("error", (e) => reject(new Error(`ping: ${JSON.stringify(e)}`)))
      .receive("timeout", () => reject(new Error("ping: timeout")));
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function phx1() {
  const s = socket();
  const channel = await join(s, "room:bench-rtt");
  for (let i = 0; i < 500; i++) await ping(channel);
  const samples = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    await ping(channel);
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  samples.sort();
  figure("p50_us", percentile(samples, 50), "us");
  figure("p99_us", percentile(samples, 99), "us");
  figure("max_us", samples[samples.length - 1], "us");
  s.disconnect();
}

async function phx2() {
  const s = socket();
  const channel = await join(s, "room:bench-throughput");
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  await new Promise((resolve, reject) => {
    let sent = 0;
    let replied = 0;
    const more = () => {
      while (sent < N && sent - replied < WINDOW) {
        sent += 1;
        channel.push("ping", PAYLOAD_64)
          .receive("ok", () => { replied += 1; if (replied === N) resolve(); else more(); })
          .receive("error", (e) => reject(new Error(`ping: ${JSON.stringify(e)}`)))
          .receive("timeout", () => reject(new Error("ping: timeout")));
      }
    };
    more();
  });
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  figure("replies_per_s", N / secs, "1/s");
  const used = process.cpuUsage(cpu);
  figure("client_cpu_us_per_push", (used.user + used.system) / N, "us");
  s.disconnect();
}

function lines() {
  const rl = readline.createInterface({ input: process.stdin });
  const queue = [];
  let waiter = null;
  rl.on("line", (l) => { if (waiter) { const w = waiter; waiter = null; w(l.trim()); } else queue.push(l.trim()); });
  rl.on("close", () => { if (waiter) waiter(undefined); else queue.push(undefined); });
  return () => new Promise((r) => { if (queue.length) r(queue.shift()); else waiter = r; });
}

// Reconnect: CLIENTS sockets, each with a channel of its own; phoenix.js reconnects the socket
// and rejoins the channel by itself. Per trial, when each was connected and rejoined.
async function phx3() {
  const next = lines();
  const sockets = [];
  let trial = null;
  const check = () => {
    if (!trial || trial.reported || !trial.clients.every((c) => c.connected && c.joined)) return;
    trial.reported = true;
    print({
      event: "trial",
      connected_at_us: trial.clients.map((c) => c.connected),
      ready_at_us: trial.clients.map((c) => c.joined),
    });
  };
  for (let i = 0; i < CLIENTS; i++) {
    const s = socket();
    s.onOpen(() => { if (trial) trial.clients[i].connected = epochUs(); });
    // The join push is sent again on every rejoin; its hooks answer each time.
    const channel = s.channel(`room:bench-${i}`, {});
    const first = new Promise((resolve) => {
      channel.join().receive("ok", () => {
        const c = trial && trial.clients[i];
        if (c && c.connected) { c.joined = epochUs(); check(); }
        resolve();
      });
    });
    sockets.push({ s, first });
  }
  await Promise.all(sockets.map((x) => x.first));
  print({ event: "ready" });
  for (;;) {
    const cmd = await next();
    if (cmd === "down") {
      while (sockets.some((x) => x.s.isConnected())) await sleep(1);
      trial = { clients: sockets.map(() => ({})), reported: false };
      print({ event: "down-ok" });
    } else if (cmd === "up") {
      // phoenix.js has no network-available hint.
    } else {
      break;
    }
  }
  sockets.forEach((x) => x.s.disconnect());
}

async function phx4() {
  const open = async (i) => {
    const s = socket();
    await join(s, `room:idle-${i}`);
    return s;
  };
  const warm = await open(N);
  await sleep(1000);
  gc();
  const before = process.memoryUsage().rss;
  const sockets = [];
  for (let i = 0; i < N; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 50); j++) batch.push(open(j));
    sockets.push(...(await Promise.all(batch)));
  }
  await sleep(2000);
  gc();
  const after = process.memoryUsage().rss;
  figure("bytes_per_conn", (after - before) / N, "B");
  sockets.forEach((s) => s.disconnect());
  warm.disconnect();
}

const workloads = { phx1, phx2, phx3, phx4 };
workloads[args.workload]()
  .then(() => process.exit(0))
  .catch((e) => { process.stderr.write(String((e && e.stack) || e) + "\n"); process.exit(1); });
