// What the server tells the test process: one JSON report per stdout line, human logs on stderr,
// and the views of payloads and params that reports carry (secrets redacted, binary as base64).
"use strict";

const { UserBroadcast } = require("./frames");
const { opts } = require("./options");

// With --quiet (benchmarks: a report per message would be most of the server's work) only the
// reports a process needs to drive the server are printed.
const QUIET_REPORTS = new Set(["listening", "fatal", "done"]);

let stdoutBroken = false;
process.stdout.on("error", () => {
  // The test process went away; nothing left to report to.
  stdoutBroken = true;
  process.exit(0);
});

// Whether reports of this kind are printed (callers on hot paths skip building them).
function reports(event) {
  return !opts.quiet || QUIET_REPORTS.has(event);
}

function report(obj) {
  if (stdoutBroken || !reports(obj.event)) return;
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function log(...parts) {
  process.stderr.write(`[phoenix server.js ${process.pid}] ${parts.join(" ")}\n`);
}

const SECRET_PARAMS = new Set(["token", "apikey", "access_token", "user_token"]);

function redactParams(params) {
  const out = {};
  for (const [k, v] of Object.entries(params)) out[k] = SECRET_PARAMS.has(k) ? "<redacted>" : v;
  return out;
}

// JSON view of a payload for reports: binary becomes {"binary": "<base64>"}.
function payloadView(p) {
  if (Buffer.isBuffer(p)) return { binary: p.toString("base64") };
  if (p instanceof UserBroadcast) {
    const u = p;
    return {
      user_broadcast: {
        event: u.event,
        encoding: u.encoding === 1 ? "json" : "binary",
        payload: u.payload.toString(u.encoding === 1 ? "utf8" : "base64"),
        metadata: u.metadata,
      },
    };
  }
  return p === undefined ? null : p;
}

function redactJoinPayload(topic, p) {
  if (!topic.startsWith("realtime:") || !isObject(p)) return payloadView(p);
  const out = { ...p };
  for (const k of ["access_token", "user_token"]) if (k in out) out[k] = "<redacted>";
  return out;
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !Buffer.isBuffer(v);
}

module.exports = { report, reports, log, redactParams, payloadView, redactJoinPayload, isObject };
