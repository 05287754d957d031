// Helpers for the node:test checks in test/: start server.js as a child process on port 0, read
// its reports, send it commands, and speak raw Phoenix v2 frames. Lives outside test/ so that
// `node --test tests/servers/phoenix/test/` does not run it as a test file.
"use strict";

const { spawn } = require("child_process");
const crypto = require("crypto");
const http = require("http");
const path = require("path");
const WebSocket = require("ws");

const SERVER = path.join(__dirname, "server.js");
// Generous: the machine may be busy with Rust builds.
const WAIT_MS = 20000;

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls `fn` until it returns a truthy value (returned) or the time is up (throws).
async function waitFor(fn, label = "condition", timeoutMs = WAIT_MS) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await delay(10);
  }
}

class ServerProcess {
  constructor(child) {
    this.child = child;
    this.reports = [];
    this.waiters = [];
    this.nextId = 1;
    this.stderr = "";
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => resolve({ code, signal }));
    });
    let buf = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim() === "") continue;
        let r;
        try {
          r = JSON.parse(line);
        } catch {
          r = { event: "unparsable", line };
        }
        this.reports.push(r);
        this.waiters = this.waiters.filter((w) => !w(r));
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d) => {
      this.stderr += d;
      if (process.env.PHOENIX_SERVER_LOG) process.stderr.write(d);
    });
  }

  static async start(args = []) {
    const child = spawn(process.execPath, [SERVER, "--port", "0", ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const s = new ServerProcess(child);
    const listening = await s.waitReport((r) => r.event === "listening", "listening report");
    s.port = listening.port;
    return s;
  }

  // Resolves with the first report (already seen since `from`, or arriving) matching `pred`.
  waitReport(pred, label = "report", timeoutMs = WAIT_MS, from = 0) {
    for (let i = from; i < this.reports.length; i++) if (pred(this.reports[i])) return Promise.resolve(this.reports[i]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${label}; reports: ${JSON.stringify(this.reports.slice(-15))}`));
      }, timeoutMs);
      const waiter = (r) => {
        if (!pred(r)) return false;
        clearTimeout(timer);
        resolve(r);
        return true;
      };
      this.waiters.push(waiter);
    });
  }

  // Sends a stdin command and resolves with its `done` report (rejects if it was not ok).
  async command(cmd) {
    const id = `c${this.nextId++}`;
    const done = this.waitReport((r) => r.event === "done" && r.id === id, `done of ${cmd.cmd}`);
    this.child.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
    const r = await done;
    if (!r.ok) throw new Error(`command ${cmd.cmd} failed: ${r.error}`);
    return r;
  }

  // Ends the server by PID and waits for it to exit.
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(this.child.pid, "SIGTERM");
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        process.kill(this.child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, 5000);
    await this.exited;
    clearTimeout(t);
  }
}

// Starts a server for test `t` and ends it after the test, after the client teardowns pushed on
// `server.cleanups` (newest first): clients must be gone before their server, or the official
// clients start reconnecting to a dead port, which can keep the test process alive.
async function withServer(t, args = []) {
  const server = await ServerProcess.start(args);
  server.cleanups = [];
  t.after(async () => {
    for (const fn of server.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // keep tearing down
      }
    }
    await server.stop();
  });
  return server;
}

// A raw Phoenix v2 WebSocket client that queues every frame it receives.
class RawSocket {
  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.waiters = [];
    this.ref = 0;
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on("message", (data, isBinary) => {
      const f = isBinary ? { binary: Buffer.from(data) } : { text: data.toString("utf8") };
      if (!isBinary) f.json = JSON.parse(f.text);
      this.frames.push(f);
      const w = this.waiters.shift();
      if (w) w();
    });
    ws.on("error", () => {});
  }

  // Resolves with an open RawSocket, or rejects with an error carrying `status` (HTTP refusal).
  static connect(port, { path: p = "/socket/websocket", params = {}, protocols, headers } = {}) {
    const q = new URLSearchParams({ vsn: "2.0.0", ...params });
    const ws = new WebSocket(`ws://127.0.0.1:${port}${p}?${q}`, protocols, { headers });
    return new Promise((resolve, reject) => {
      ws.on("open", () => resolve(new RawSocket(ws)));
      ws.on("unexpected-response", (req, res) => {
        let body = "";
        res.on("data", (d) => { body += d; });
        res.on("end", () => {
          const e = new Error(`HTTP ${res.statusCode}`);
          e.status = res.statusCode;
          e.body = body;
          e.headers = res.headers;
          req.destroy();
          reject(e);
        });
      });
      ws.on("error", (e) => reject(e));
    });
  }

  makeRef() {
    this.ref += 1;
    return String(this.ref);
  }

  send(arr) {
    this.ws.send(JSON.stringify(arr));
  }

  sendBinary(buf) {
    this.ws.send(buf, { binary: true });
  }

  // The next frame, in arrival order.
  async next(label = "frame", timeoutMs = WAIT_MS) {
    if (this.frames.length === 0) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`timed out waiting for ${label}`));
        }, timeoutMs);
        const waiter = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiters.push(waiter);
      });
    }
    return this.frames.shift();
  }

  async nextJson(label) {
    const f = await this.next(label);
    if (!f.json) throw new Error(`expected a text frame for ${label}, got binary ${f.binary.toString("hex")}`);
    return f.json;
  }

  // Heartbeat round trip: every frame the server sent before the reply is returned, in order.
  async barrier() {
    const ref = this.makeRef();
    this.send([null, ref, "phoenix", "heartbeat", {}]);
    const before = [];
    for (;;) {
      const f = await this.next("heartbeat reply");
      if (f.json && f.json[2] === "phoenix" && f.json[1] === ref) return before;
      before.push(f);
    }
  }

  close(code) {
    this.ws.close(code);
    return this.closed;
  }
}

// Binary push (kind 0) as phoenix.js encodes it.
function binaryPush(joinRef, ref, topic, event, payload) {
  const parts = [joinRef, ref, topic, event].map((s) => Buffer.from(s || "", "utf8"));
  return Buffer.concat([Buffer.from([0, ...parts.map((p) => p.length)]), ...parts, payload]);
}

// Supabase user broadcast push (kind 3) as realtime-js encodes it.
function userBroadcastPush(joinRef, ref, topic, event, payload, encoding, metadata = "") {
  const parts = [joinRef, ref, topic, event, metadata].map((s) => Buffer.from(s || "", "utf8"));
  return Buffer.concat([Buffer.from([3, ...parts.map((p) => p.length), encoding]), ...parts, payload]);
}

function httpGet(port, p) {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: p }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    }).on("error", reject);
  });
}

function jwt(claims, secret, alg = "HS256") {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = enc({ alg, typ: "JWT" });
  const body = enc(claims);
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[alg];
  const sig = crypto.createHmac(hash, secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

module.exports = { ServerProcess, withServer, RawSocket, WAIT_MS, waitFor, delay, binaryPush, userBroadcastPush, httpGet, jwt };
