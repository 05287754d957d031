#!/usr/bin/env node
// Tether's test peer: one configurable, official Socket.IO server (socket.io 4.x) used by the
// Rust, Kotlin and Swift tests. The contract (flags, handlers, reports, stdin commands) is in
// README.md next to this file; keep the two in step.
//
// stdout: one JSON object per line (the first is {"event":"listening","port":N}).
// stderr: human-readable logs.
// stdin:  one JSON command per line; EOF on stdin exits the server.
"use strict";

const http = require("http");
const readline = require("readline");
const { Server } = require("socket.io");

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `usage: node server.js [--port N] [--host ADDR] [--token SECRET] [--recovery-ms N]
       [--ping-interval MS] [--ping-timeout MS] [--redis URL] [--namespaces /,/admin]
       [--max-payload BYTES] [--transports websocket,polling] [--dedup-field FIELD]
       [--ignore-stdin-eof]`;

function fail(msg) {
  process.stderr.write(`server.js: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    port: 0,
    host: "127.0.0.1",
    token: null,
    recoveryMs: null,
    pingInterval: 25000,
    pingTimeout: 20000,
    redis: null,
    namespaces: ["/"],
    maxPayload: 1e6,
    transports: ["websocket", "polling"],
    dedupField: null,
    ignoreStdinEof: false,
  };
  const int = (name, v) => {
    if (!/^\d+$/.test(String(v))) fail(`${name} needs a non-negative integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case "--port": opts.port = int(arg, next()); break;
      case "--host": opts.host = next(); break;
      case "--token": opts.token = next(); break;
      case "--recovery-ms": opts.recoveryMs = int(arg, next()); break;
      case "--ping-interval": opts.pingInterval = int(arg, next()); break;
      case "--ping-timeout": opts.pingTimeout = int(arg, next()); break;
      case "--redis": opts.redis = next(); break;
      case "--namespaces":
        opts.namespaces = next()
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0)
          .map((s) => (s.startsWith("/") ? s : `/${s}`));
        if (opts.namespaces.length === 0) fail("--namespaces needs at least one namespace");
        opts.namespaces = [...new Set(opts.namespaces)];
        break;
      case "--max-payload": opts.maxPayload = int(arg, next()); break;
      case "--transports":
        opts.transports = next().split(",").map((s) => s.trim()).filter(Boolean);
        for (const t of opts.transports) {
          if (t !== "websocket" && t !== "polling") fail(`unknown transport ${t}`);
        }
        if (opts.transports.length === 0) fail("--transports needs at least one transport");
        break;
      case "--dedup-field":
        opts.dedupField = next();
        if (opts.dedupField.length === 0) fail("--dedup-field needs a field name");
        break;
      case "--ignore-stdin-eof": opts.ignoreStdinEof = true; break;
      case "-h":
      case "--help":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        fail(`unknown argument ${arg}`);
    }
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// Output

let stdoutBroken = false;
process.stdout.on("error", () => {
  // The test process went away; nothing left to report to.
  stdoutBroken = true;
  process.exit(0);
});

function report(obj) {
  if (stdoutBroken) return;
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function log(...parts) {
  process.stderr.write(`[server.js ${process.pid}] ${parts.join(" ")}\n`);
}

// JSON view of event arguments: Buffers (and other binary) become {"binary": "<base64>"}.
function toJson(v) {
  if (v === undefined) return null;
  if (v === null || typeof v !== "object") {
    if (typeof v === "function") return null;
    if (typeof v === "bigint") return v.toString();
    return v;
  }
  if (Buffer.isBuffer(v)) return { binary: v.toString("base64") };
  if (v instanceof ArrayBuffer) return { binary: Buffer.from(v).toString("base64") };
  if (ArrayBuffer.isView(v)) {
    return { binary: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  }
  if (Array.isArray(v)) return v.map(toJson);
  const out = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "function") out[k] = toJson(x);
  }
  return out;
}

// The handshake's `x-*` headers and its cookie header: what a client adds on purpose.
function extraHeaders(headers) {
  const out = {};
  for (const [k, v] of Object.entries(headers || {})) {
    if (k.startsWith("x-") || k === "cookie") out[k] = v;
  }
  return out;
}

function redactedAuth(auth) {
  if (auth === null || typeof auth !== "object" || Array.isArray(auth)) return toJson(auth);
  const out = toJson(auth);
  if (Object.prototype.hasOwnProperty.call(auth, "token")) out.token = "<redacted>";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server

const httpServer = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});

const serverOptions = {
  transports: opts.transports,
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  maxHttpBufferSize: opts.maxPayload,
  serveClient: false,
};
if (opts.recoveryMs !== null) {
  serverOptions.connectionStateRecovery = {
    maxDisconnectionDuration: opts.recoveryMs,
    skipMiddlewares: true,
  };
}

const io = new Server(httpServer, serverOptions);
// The port first bound, for `heal` to listen on again after a `cut`.
let listeningPort = null;
const redisClients = [];

io.engine.on("connection_error", (err) => {
  report({
    event: "engine_error",
    code: err.code,
    message: err.message,
  });
});

function isAck(x) {
  return typeof x === "function";
}

function splitAck(args) {
  if (args.length > 0 && isAck(args[args.length - 1])) {
    return { args: args.slice(0, -1), ack: args[args.length - 1] };
  }
  return { args, ack: null };
}

// ---------------------------------------------------------------------------------------------
// The ledger (server-side de-duplication, off unless --dedup-field or the `dedup` command):
// an event whose first argument carries a string `dedupField` is recorded the first time its
// (namespace, event, id) is seen; a later one with the same id is a duplicate, reported as such,
// not handed to the handlers, and acknowledged with the first one's reply.

let dedupField = opts.dedupField;
const ledger = new Map(); // "nsp\0event\0id" -> { reply: [...] | null, waiting: [ack, ...] }
const verdicts = new WeakMap(); // an event's first argument -> { entry, duplicate }

// Decides, once per event (in onAny, which runs before the middleware), whether it is new.
function ledgerVerdict(nsp, event, args) {
  if (dedupField === null) return null;
  const first = args[0];
  if (!first || typeof first !== "object" || typeof first[dedupField] !== "string") return null;
  const key = `${nsp}\u0000${event}\u0000${first[dedupField]}`;
  let entry = ledger.get(key);
  const duplicate = entry !== undefined;
  if (!duplicate) {
    entry = { reply: null, waiting: [] };
    ledger.set(key, entry);
  }
  verdicts.set(first, { entry, duplicate });
  return { key: first[dedupField], duplicate };
}

// Packet middleware: holds duplicates back from the handlers and answers their acks.
function ledgerMiddleware(packet, next) {
  const first = packet.length > 1 ? packet[1] : undefined;
  const verdict = first && typeof first === "object" ? verdicts.get(first) : undefined;
  if (!verdict) return next();
  const last = packet[packet.length - 1];
  const ack = typeof last === "function" ? last : null;
  const { entry } = verdict;
  if (verdict.duplicate) {
    if (ack && entry.reply) ack(...entry.reply);
    else if (ack) entry.waiting.push(ack);
    return undefined;
  }
  if (ack) {
    packet[packet.length - 1] = (...reply) => {
      entry.reply = reply;
      ack(...reply);
      for (const waiting of entry.waiting.splice(0)) waiting(...reply);
    };
  }
  return next();
}

function setupNamespace(name) {
  const nsp = io.of(name);

  nsp.use((socket, next) => {
    if (opts.token !== null) {
      const auth = socket.handshake.auth;
      const given = auth && typeof auth === "object" ? auth.token : undefined;
      if (given !== opts.token) {
        report({ event: "rejected", nsp: name, reason: "unauthorized", auth: redactedAuth(auth) });
        return next(new Error("unauthorized"));
      }
    }
    next();
  });

  nsp.on("connection", (socket) => {
    report({
      event: "connection",
      nsp: name,
      id: socket.id,
      recovered: socket.recovered,
      auth: redactedAuth(socket.handshake.auth),
      transport: socket.conn.transport.name,
      headers: extraHeaders(socket.handshake.headers),
    });

    socket.conn.once("upgrade", (transport) => {
      report({ event: "upgrade", nsp: name, id: socket.id, transport: transport.name });
    });

    socket.on("disconnect", (reason) => {
      report({ event: "disconnect", nsp: name, id: socket.id, reason });
    });

    // Every event from the client, before its handler runs.
    socket.onAny((event, ...raw) => {
      const { args, ack } = splitAck(raw);
      const received = {
        event: "received",
        nsp: name,
        id: socket.id,
        name: event,
        args: toJson(args),
        ack: ack !== null,
      };
      const verdict = ledgerVerdict(name, event, args);
      if (verdict) Object.assign(received, verdict);
      report(received);
    });
    socket.use(ledgerMiddleware);

    socket.on("echo", (...raw) => {
      const { args } = splitAck(raw);
      socket.emit("echo", ...args);
    });

    socket.on("ack-echo", (...raw) => {
      const { args, ack } = splitAck(raw);
      if (ack) ack(...args);
    });

    socket.on("join-room", (...raw) => {
      const { args, ack } = splitAck(raw);
      const room = args[0] && args[0].room;
      if (typeof room !== "string" || room.length === 0) {
        if (ack) ack({ ok: false, error: "bad-request" });
        return;
      }
      Promise.resolve(socket.join(room)).then(
        () => ack && ack({ ok: true, room }),
        (err) => ack && ack({ ok: false, room, error: String(err) }),
      );
    });

    socket.on("leave-room", (...raw) => {
      const { args, ack } = splitAck(raw);
      const room = args[0] && args[0].room;
      if (typeof room !== "string" || room.length === 0) {
        if (ack) ack({ ok: false, error: "bad-request" });
        return;
      }
      Promise.resolve(socket.leave(room)).then(
        () => ack && ack({ ok: true, room }),
        (err) => ack && ack({ ok: false, room, error: String(err) }),
      );
    });

    socket.on("broadcast", (...raw) => {
      const { args, ack } = splitAck(raw);
      const p = args[0];
      if (!p || typeof p !== "object" || typeof p.event !== "string") {
        if (ack) ack({ ok: false, error: "bad-request" });
        return;
      }
      const target = p.room !== undefined && p.room !== null ? io.of(name).to(p.room) : io.of(name);
      if (p.data === undefined) target.emit(p.event);
      else target.emit(p.event, p.data);
      if (ack) ack({ ok: true });
    });

    socket.on("ask-client", (...raw) => {
      const { args, ack } = splitAck(raw);
      const p = args[0];
      if (!p || typeof p !== "object" || typeof p.event !== "string") {
        if (ack) ack({ ok: false, error: "bad-request" });
        return;
      }
      const timeoutMs = Number.isInteger(p.timeoutMs) && p.timeoutMs > 0 ? p.timeoutMs : 5000;
      const callback = (err, ...reply) => {
        if (!ack) return;
        if (err) ack({ ok: false, error: "timeout" });
        else ack({ ok: true, reply });
      };
      if (p.data === undefined) socket.timeout(timeoutMs).emit(p.event, callback);
      else socket.timeout(timeoutMs).emit(p.event, p.data, callback);
    });

    socket.on("disconnect-me", (...raw) => {
      const { args } = splitAck(raw);
      const p = args[0];
      const close = !(p && typeof p === "object" && p.close === false);
      socket.disconnect(close);
    });

    socket.on("whoami", (...raw) => {
      const { ack } = splitAck(raw);
      if (!ack) return;
      ack({
        id: socket.id,
        recovered: socket.recovered,
        rooms: [...socket.rooms],
        auth: redactedAuth(socket.handshake.auth),
        transport: socket.conn.transport.name,
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// stdin commands

async function runCommand(c) {
  const nspName = typeof c.nsp === "string" ? (c.nsp.startsWith("/") ? c.nsp : `/${c.nsp}`) : "/";
  const target = () => {
    const nsp = io.of(nspName);
    return c.room !== undefined && c.room !== null ? nsp.to(c.room) : nsp;
  };
  const emitArgs = (data) => (Array.isArray(c.args) ? c.args : data === undefined ? [] : [data]);
  switch (c.cmd) {
    case "emit": {
      if (typeof c.event !== "string") throw new Error("missing event");
      target().emit(c.event, ...emitArgs(c.data));
      return;
    }
    case "emit-binary": {
      if (typeof c.event !== "string") throw new Error("missing event");
      if (typeof c.base64 !== "string") throw new Error("missing base64");
      target().emit(c.event, Buffer.from(c.base64, "base64"));
      return;
    }
    case "flood": {
      // `count` events named in turn from `events`, each with one argument {n: i, ...data}
      // (a top-level "$n" in data becomes i too), in chunks that let the socket drain between
      // them (one event loop turn per chunk).
      const names = Array.isArray(c.events) && c.events.length > 0 ? c.events : null;
      if (!names || !names.every((e) => typeof e === "string")) throw new Error("missing events");
      const count = Number.isInteger(c.count) && c.count >= 0 ? c.count : null;
      if (count === null) throw new Error("missing count");
      const extra = c.data && typeof c.data === "object" && !Array.isArray(c.data) ? c.data : {};
      for (let i = 0; i < count; i++) {
        const arg = { n: i };
        for (const [key, value] of Object.entries(extra)) arg[key] = value === "$n" ? i : value;
        target().emit(names[i % names.length], arg);
        if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
      }
      return;
    }
    case "disconnect-all": {
      io.of(nspName).disconnectSockets(c.close === true);
      return;
    }
    case "dedup": {
      if (c.field !== null && (typeof c.field !== "string" || c.field.length === 0)) {
        throw new Error("field must be a field name or null");
      }
      dedupField = c.field;
      return;
    }
    case "cut": {
      // The network goes away, as clients see it: no new connections, and every open one
      // dropped without a close frame or a Socket.IO disconnect.
      if (httpServer.listening) httpServer.close();
      for (const client of Object.values(io.engine.clients)) {
        const ws = client.transport && client.transport.socket;
        if (ws && typeof ws.terminate === "function") ws.terminate();
        else client.close(true);
      }
      return;
    }
    case "heal": {
      if (!httpServer.listening) {
        await new Promise((resolve, reject) => {
          httpServer.once("error", reject);
          httpServer.listen(listeningPort, opts.host, () => {
            httpServer.off("error", reject);
            resolve();
          });
        });
      }
      return;
    }
    case "close": {
      await shutdown(0, c);
      return;
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(c.cmd)}`);
  }
}

function doneReport(c, extra) {
  const r = { event: "done", cmd: c && c.cmd !== undefined ? c.cmd : null };
  if (c && c.id !== undefined) r.id = c.id;
  return Object.assign(r, extra);
}

let commandChain = Promise.resolve();

function onCommandLine(line) {
  if (line.trim() === "") return;
  let c;
  try {
    c = JSON.parse(line);
    if (!c || typeof c !== "object") throw new Error("not an object");
  } catch (e) {
    report(doneReport(null, { ok: false, error: `bad command line: ${e.message}` }));
    return;
  }
  // One at a time, in order.
  commandChain = commandChain.then(async () => {
    try {
      await runCommand(c);
      report(doneReport(c, { ok: true }));
    } catch (e) {
      report(doneReport(c, { ok: false, error: e.message }));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

let shuttingDown = null;

function exitAfterFlush(code) {
  if (stdoutBroken) process.exit(code);
  process.stdout.write("", () => process.exit(code));
}

function shutdown(code, cmd) {
  if (shuttingDown) return shuttingDown;
  shuttingDown = (async () => {
    setTimeout(() => process.exit(code), 3000).unref(); // never hang on the way out
    try {
      await io.close();
    } catch (e) {
      log("io.close:", e.message);
    }
    for (const c of redisClients) {
      try {
        await c.disconnect();
      } catch (_) {
        /* already gone */
      }
    }
    if (cmd) report(doneReport(cmd, { ok: true }));
    exitAfterFlush(code);
    await new Promise(() => {}); // exit happens in the write callback
  })();
  return shuttingDown;
}

process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));

async function main() {
  if (opts.redis) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-adapter");
    // Give up at startup if Redis cannot be reached (instead of retrying forever, which would
    // leave a test waiting for the listening line); once connected, reconnect as usual.
    let redisReady = false;
    const pubClient = createClient({
      url: opts.redis,
      socket: {
        reconnectStrategy: (retries, cause) =>
          !redisReady && retries >= 10
            ? new Error(`redis unreachable at ${opts.redis}: ${cause && cause.message}`)
            : Math.min(50 * (retries + 1), 500),
      },
    });
    const subClient = pubClient.duplicate();
    for (const c of [pubClient, subClient]) {
      c.on("error", (e) => log("redis:", e.message));
      redisClients.push(c);
    }
    await Promise.all([pubClient.connect(), subClient.connect()]);
    redisReady = true;
    io.adapter(createAdapter(pubClient, subClient));
    if (opts.recoveryMs !== null) {
      log("note: the Redis adapter does not persist sessions; connection state recovery");
      log("      only restores sessions without --redis");
    }
  }

  for (const name of opts.namespaces) setupNamespace(name);

  await new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(opts.port, opts.host, resolve);
  });
  const { port } = httpServer.address();
  listeningPort = port;
  log(
    `listening on ${opts.host}:${port} namespaces=${opts.namespaces.join(",")}` +
      ` token=${opts.token !== null ? "yes" : "no"} recovery=${opts.recoveryMs}` +
      ` redis=${opts.redis ? "yes" : "no"}`,
  );
  report({ event: "listening", port });

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on("line", onCommandLine);
  rl.on("close", () => {
    if (opts.ignoreStdinEof) return;
    log("stdin closed; exiting");
    commandChain.then(() => shutdown(0));
  });
}

main().catch((e) => {
  log("fatal:", e && e.stack ? e.stack : String(e));
  report({ event: "fatal", error: String(e && e.message ? e.message : e) });
  exitAfterFlush(1);
});
