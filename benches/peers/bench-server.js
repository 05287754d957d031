#!/usr/bin/env node
// The Socket.IO server of the benchmarks: the official `socket.io` 4.8 package (the one pinned in
// tests/servers/node), with only the handlers the workloads need and no per-event reports, so
// the server does as little as possible per message and every client meets the same server.
//
//   node benches/peers/bench-server.js [--port N] [--ping-interval MS] [--ping-timeout MS] [--record-arrivals]
//
// stdout: {"event":"listening","port":N,"at_us":<epoch µs>} once listening; exits when stdin
// closes (so a dying bench never leaves a server behind).
// --record-arrivals (W3 fleet): the server keeps the epoch µs of every Engine.IO handshake it
// accepts (one array push each: nothing printed during a herd) and answers the stdin line
// `arrivals` with {"event":"arrivals","at_us":[...]}, every one so far in accept order.
"use strict";

const path = require("path");
const http = require("http");
const readline = require("readline");
const { performance } = require("perf_hooks");
const { Server } = require(path.join(__dirname, "../../tests/servers/node/node_modules/socket.io"));

const opts = { port: 0, pingInterval: 25000, pingTimeout: 20000, recordArrivals: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const value = Number(argv[i + 1]);
  switch (argv[i]) {
    case "--port": opts.port = value; i++; break;
    case "--ping-interval": opts.pingInterval = value; i++; break;
    case "--ping-timeout": opts.pingTimeout = value; i++; break;
    case "--record-arrivals": opts.recordArrivals = true; break;
    default: process.stderr.write(`bench-server.js: unknown flag ${argv[i]}\n`); process.exit(2);
  }
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  maxHttpBufferSize: 1e6,
});

const epochUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

// W3 fleet: when each connection arrived (the Engine.IO handshake, before the namespace's).
const arrivals = [];
if (opts.recordArrivals) io.engine.on("connection", () => arrivals.push(epochUs()));

io.on("connection", (socket) => {
  let counted = 0;
  let target = -1;
  // W1, W7: the ack carries the arguments back.
  socket.on("ack-echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
  });
  // W3: rooms, answered like tests/servers/node/server.js.
  socket.on("join-room", (payload, ack) => {
    const room = payload && payload.room;
    if (typeof room === "string") socket.join(room);
    if (typeof ack === "function") ack({ ok: typeof room === "string", room });
  });
  // W2: a server-side counter; `count-done` goes back to the sender when the target is reached.
  socket.on("count-reset", (n, ack) => {
    counted = 0;
    target = Number(n);
    if (typeof ack === "function") ack({ ok: true });
  });
  socket.on("count", () => {
    counted += 1;
    if (counted === target) socket.emit("count-done", counted);
  });
});

httpServer.on("error", (e) => {
  process.stdout.write(JSON.stringify({ event: "fatal", error: String(e) }) + "\n");
  process.exit(1);
});
httpServer.listen(opts.port, "127.0.0.1", () => {
  const at_us = epochUs();
  process.stdout.write(JSON.stringify({ event: "listening", port: httpServer.address().port, at_us }) + "\n");
});
const commands = readline.createInterface({ input: process.stdin, terminal: false });
commands.on("line", (line) => {
  if (line.trim() === "arrivals") process.stdout.write(JSON.stringify({ event: "arrivals", at_us: arrivals }) + "\n");
});
commands.on("close", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
