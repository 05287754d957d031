#!/usr/bin/env node
// The socket.io-client peer of the benchmarks (socket.io-client 4.8.4 from
// tests/servers/node/node_modules, WebSocket transport only, as every client here). Driven by
// `tether-bench` with the same line protocol as its own client processes:
//
//   node --expose-gc benches/peers/js-client.js --workload w1 --url http://127.0.0.1:PORT [--n N] [--clients C]
//
// stdout: JSON lines; {"figure":NAME,"value":V,"unit":U} are results, {"event":...} is control.
// stdin (w3, w7): "down" (the server was killed), "up" (it listens again; no hint API here).
// W3 runs --clients sockets in the process, each one sample per trial (the W3 fleet: 1,000).
"use strict";

const path = require("path");
const { io } = require(path.join(__dirname, "../../tests/servers/node/node_modules/socket.io-client"));
const { parseArgs, print, figure, epochUs, sleep, percentile, lines, openMany, memoryPerConnection, main } = require("./common");

const { args, N, CLIENTS } = parseArgs();
const PAYLOAD_64 = "e".repeat(64);
const COUNT_64 = "c".repeat(64);

function connect() {
  const socket = io(args.url, { transports: ["websocket"], forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (e) => reject(e));
  });
}

// N sequential emits with an ack after `warmUp` of them; the sorted round trips in µs.
async function roundTrips(socket, warmUp) {
  const once = () => new Promise((r) => socket.emit("ack-echo", PAYLOAD_64, r));
  for (let i = 0; i < warmUp; i++) await once();
  const samples = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    await once();
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  samples.sort();
  figure("p50_us", percentile(samples, 50), "us");
  figure("p99_us", percentile(samples, 99), "us");
  return samples;
}

async function w1() {
  const socket = await connect();
  const samples = await roundTrips(socket, 500);
  figure("max_us", samples[samples.length - 1], "us");
  socket.close();
}

// N fire-and-forget emits, timed until the server has counted them all.
async function countedSends(socket) {
  await new Promise((r) => socket.emit("count-reset", N, r));
  const done = new Promise((r) => socket.once("count-done", r));
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) socket.emit("count", COUNT_64);
  await done;
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  figure("msgs_per_s", N / secs, "msg/s");
  const used = process.cpuUsage(cpu);
  figure("client_cpu_us_per_msg", (used.user + used.system) / N, "us");
  socket.close();
}

async function w2() {
  await countedSends(await connect());
}

// Reconnect: the app re-joins its room on every connect (socket.io-client does not) and one
// emit with an ack is buffered while down (socket.io-client's send buffer flushes on connect).
// CLIENTS sockets, each one sample per trial.
async function w3() {
  const next = lines();
  const sockets = [];
  let trial = null;
  const check = () => {
    if (!trial || trial.reported) return;
    if (!trial.clients.every((c) => c.connected && c.joined && c.flushed)) return;
    trial.reported = true;
    print({
      event: "trial",
      connected_at_us: trial.clients.map((c) => c.connected),
      ready_at_us: trial.clients.map((c) => Math.max(c.joined, c.flushed)),
    });
  };
  // In batches, as W4 opens its connections: the W3 fleet holds 1,000 sockets.
  await openMany(CLIENTS, (i) => {
    const socket = io(args.url, { transports: ["websocket"], forceNew: true });
    socket.on("connect", () => {
      const c = trial && trial.clients[i];
      if (c) c.connected = epochUs();
      socket.emit("join-room", { room: "bench" }, () => { if (c) { c.joined = epochUs(); check(); } });
    });
    sockets[i] = socket;
    return new Promise((r) => socket.once("connect", r));
  });
  print({ event: "ready" });
  for (;;) {
    const cmd = await next();
    if (cmd === "down") {
      while (sockets.some((s) => s.connected)) await sleep(1);
      trial = { clients: sockets.map(() => ({})), reported: false };
      const t = trial;
      sockets.forEach((socket, i) => {
        socket.timeout(30000).emit("ack-echo", "queued", (err) => { if (!err) { t.clients[i].flushed = epochUs(); check(); } });
      });
      print({ event: "down-ok" });
    } else if (cmd === "up") {
      // socket.io-client has no network-available hint.
    } else if (cmd === "quit" || cmd === undefined) {
      break;
    }
  }
  sockets.forEach((s) => s.close());
}

async function w4() {
  await memoryPerConnection(N, connect, (s) => s.close());
}

async function w5() {
  const sockets = await openMany(N, connect);
  // As the Rust side: the window starts after every connection's first heartbeat (5 s).
  await sleep(6000);
  const before = process.cpuUsage();
  await sleep(20000);
  const used = process.cpuUsage(before);
  figure("cpu_ms_20s", (used.user + used.system) / 1000, "ms");
  sockets.forEach((s) => s.close());
}

async function w7() {
  const next = lines();
  const socket = await connect();
  print({ event: "ready" });
  let connectedAt = 0;
  let acked = 0;
  let doneAt = 0;
  let finish;
  const finished = new Promise((r) => { finish = r; });
  if ((await next()) !== "down") return;
  while (socket.connected) await sleep(1);
  socket.on("connect", () => { connectedAt = epochUs(); });
  for (let i = 0; i < N; i++) {
    socket.timeout(120000).emit("ack-echo", PAYLOAD_64, (err) => {
      if (err) return;
      acked += 1;
      if (acked === N) { doneAt = epochUs(); finish(); }
    });
  }
  print({ event: "down-ok" });
  await finished;
  print({ event: "flushed", connected_at_us: connectedAt, done_at_us: doneAt });
  socket.close();
}

// The polling workloads (P1-P3 in BENCHMARKS.md), over `--transports polling` (long-polling
// only) or `--transports polling,websocket` (socket.io-client's default: polling, then the
// upgrade, measured once upgraded).
const TRANSPORTS = (args.transports || "polling").split(",");

function connectWith() {
  const socket = io(args.url, { transports: TRANSPORTS, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => {
      if (TRANSPORTS.length === 1 || socket.io.engine.transport.name === "websocket") return resolve(socket);
      socket.io.engine.once("upgrade", () => resolve(socket));
    });
    socket.once("connect_error", (e) => reject(e));
  });
}

async function p1() {
  const socket = await connectWith();
  await roundTrips(socket, 100);
  socket.close();
}

async function p2() {
  await countedSends(await connectWith());
}

// From "connect" called to the first acknowledgement back, a fresh client each trial.
async function p3() {
  const samples = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    const socket = io(args.url, { transports: TRANSPORTS, forceNew: true });
    await new Promise((r) => socket.emit("ack-echo", PAYLOAD_64, r));
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    socket.close();
  }
  samples.sort((a, b) => a - b);
  figure("first_message_median_ms", samples[Math.floor(samples.length / 2)], "ms");
}

main({ w1, w2, w3, w4, w5, w7, p1, p2, p3 }, args.workload);
