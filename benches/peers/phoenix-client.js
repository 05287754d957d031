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
const modules = path.join(__dirname, "../../tests/servers/phoenix/node_modules");
const WebSocket = require(path.join(modules, "ws"));
const { Socket } = require(path.join(modules, "phoenix"));
const { parseArgs, print, figure, epochUs, sleep, percentile, lines, openMany, memoryPerConnection, main } = require("./common");

const { args, N, CLIENTS } = parseArgs();
// Pushes awaiting their reply at once in phx2 (benches/src/phoenix.rs has the same).
const WINDOW = 100;
const PAYLOAD_64 = "e".repeat(64);

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
  // In batches, as W4 opens its connections: the W3 fleet holds 1,000 sockets.
  await openMany(CLIENTS, (i) => {
    const s = socket();
    s.onOpen(() => { if (trial) trial.clients[i].connected = epochUs(); });
    sockets[i] = { s };
    // The join push is sent again on every rejoin; its hooks answer each time.
    const channel = s.channel(`room:bench-${i}`, {});
    return new Promise((resolve) => {
      channel.join().receive("ok", () => {
        const c = trial && trial.clients[i];
        if (c && c.connected) { c.joined = epochUs(); check(); }
        resolve();
      });
    });
  });
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
  await memoryPerConnection(N, open, (s) => s.disconnect());
}

main({ phx1, phx2, phx3, phx4 }, args.workload);
