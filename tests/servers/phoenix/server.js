#!/usr/bin/env node
// Tether's Phoenix Channels v2 test peer (Node, `ws`), held to frames recorded from a real
// Phoenix 1.7.24 server and to the official `phoenix` and `@supabase/realtime-js` clients. It
// also answers Supabase Realtime shaped `realtime:*` topics. The contract (flags, channels,
// reports, stdin commands, differences from the real servers) is README.md next to this file;
// keep the two in step.
//
// stdout: one JSON object per line (the first is {"event":"listening","port":N}).
// stderr: human-readable logs.
// stdin:  one JSON command per line; EOF on stdin exits the server.
"use strict";

const readline = require("readline");
const { performance } = require("perf_hooks");
const { load } = require("./lib/options");

// Flags first: the modules below read them.
const opts = load(process.argv.slice(2));

const { report, log } = require("./lib/output");
const { conns } = require("./lib/connection");
const { createServer } = require("./lib/http");
const { onCommandLine } = require("./lib/commands");

// Inside lib/, from the bottom: options, frames (the codec), output (reports), pubsub (topic
// subscriptions and broadcasts), presence, jwt, channel, connection, room and realtime (the two
// kinds of channels), postgres-changes, socket (a socket's incoming frames), http (the upgrade),
// commands (stdin).

const httpServer = createServer();

// ---------------------------------------------------------------------------------------------
// Lifetime

let exiting = false;
function shutdown(code) {
  if (exiting) return;
  exiting = true;
  for (const c of conns.values()) {
    try {
      c.ws.terminate();
    } catch {
      // gone already
    }
  }
  httpServer.close();
  process.exit(code);
}

process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));

httpServer.on("error", (e) => {
  report({ event: "fatal", error: e.message });
  process.exit(1);
});

httpServer.listen(opts.port, opts.host, () => {
  // at_us: epoch microseconds, so a benchmark can time reconnects from the moment it listens.
  const atUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
  report({ event: "listening", port: httpServer.address().port, at_us: atUs });
  log(`listening on ${opts.host}:${httpServer.address().port}`);
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on("line", (line) => onCommandLine(line, shutdown));
  rl.on("close", () => {
    if (!opts.ignoreStdinEof) shutdown(0);
  });
});
