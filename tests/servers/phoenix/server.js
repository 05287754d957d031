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

const crypto = require("crypto");
const http = require("http");
const readline = require("readline");
const { WebSocketServer } = require("ws");

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `usage: node server.js [--port N] [--host ADDR] [--token SECRET]
       [--heartbeat-timeout-ms MS] [--max-frame-bytes BYTES] [--max-channels N]
       [--jwt-secret SECRET] [--presence-rate-limit N] [--presence-rate-window-ms MS]
       [--join-error-backoff-ms MS] [--ignore-stdin-eof]`;

function fail(msg) {
  process.stderr.write(`server.js: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    port: 0,
    host: "127.0.0.1",
    token: null,
    heartbeatTimeoutMs: 60000,
    maxFrameBytes: 100 * 1024 * 1024,
    maxChannels: 100,
    jwtSecret: null,
    presenceRateLimit: 5,
    presenceRateWindowMs: 30000,
    joinErrorBackoffMs: 0,
    ignoreStdinEof: false,
  };
  const int = (name, v, min = 0) => {
    if (!/^\d+$/.test(String(v)) || Number(v) < min) {
      fail(`${name} needs an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
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
      case "--port": opts.port = int(arg, next()); if (opts.port > 65535) fail("--port is too big"); break;
      case "--host": opts.host = next(); break;
      case "--token": opts.token = next(); break;
      case "--heartbeat-timeout-ms": opts.heartbeatTimeoutMs = int(arg, next(), 1); break;
      case "--max-frame-bytes": opts.maxFrameBytes = int(arg, next(), 1); break;
      case "--max-channels": opts.maxChannels = int(arg, next(), 1); break;
      case "--jwt-secret": opts.jwtSecret = next(); if (!opts.jwtSecret) fail("--jwt-secret needs a value"); break;
      case "--presence-rate-limit": opts.presenceRateLimit = int(arg, next(), 1); break;
      case "--presence-rate-window-ms": opts.presenceRateWindowMs = int(arg, next(), 1); break;
      case "--join-error-backoff-ms": opts.joinErrorBackoffMs = int(arg, next()); break;
      case "--ignore-stdin-eof": if (value !== undefined) fail(`${arg} takes no value`); opts.ignoreStdinEof = true; break;
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

// ---------------------------------------------------------------------------------------------
// Phoenix Channels v2 framing (text: JSON arrays; binary: the v2 serializer's kinds 0/1/2, plus
// Supabase Realtime's user broadcast push 3 (client to server) and user broadcast 4).

const KIND_PUSH = 0;
const KIND_REPLY = 1;
const KIND_BROADCAST = 2;
const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;

class BadFrame extends Error {}

// The payload of a Supabase user broadcast push (kind 3).
class UserBroadcast {
  constructor(event, encoding, payload, metadata) {
    this.event = event;
    this.encoding = encoding; // 0 binary, 1 JSON
    this.payload = payload; // Buffer
    this.metadata = metadata;
  }
}

function field(name, s) {
  const b = Buffer.from(s === null || s === undefined ? "" : String(s), "utf8");
  if (b.length > 255) throw new Error(`unable to convert ${name} to binary: ${b.length} bytes > 255`);
  return b;
}

function decodeFrame(data, isBinary) {
  if (!isBinary) {
    let arr;
    try {
      arr = JSON.parse(data.toString("utf8"));
    } catch (e) {
      throw new BadFrame(`invalid JSON: ${e.message}`);
    }
    if (!Array.isArray(arr) || arr.length < 5) throw new BadFrame("expected a v2 array [join_ref, ref, topic, event, payload]");
    const [joinRef, ref, topic, event, payload] = arr;
    if (typeof topic !== "string" || typeof event !== "string") throw new BadFrame("topic and event must be strings");
    // Refs are echoed as they came (Phoenix decodes and re-encodes them untouched).
    return { joinRef: joinRef === undefined ? null : joinRef, ref: ref === undefined ? null : ref, topic, event, payload };
  }
  const buf = data;
  if (buf.length < 1) throw new BadFrame("empty binary frame");
  const kind = buf[0];
  if (kind === KIND_PUSH) {
    if (buf.length < 5) throw new BadFrame("short binary push header");
    const sizes = [buf[1], buf[2], buf[3], buf[4]];
    let off = 5;
    const parts = sizes.map((n) => {
      if (off + n > buf.length) throw new BadFrame("binary push header overruns the frame");
      const s = buf.subarray(off, off + n).toString("utf8");
      off += n;
      return s;
    });
    return { joinRef: parts[0] || null, ref: parts[1] || null, topic: parts[2], event: parts[3], payload: Buffer.from(buf.subarray(off)) };
  }
  if (kind === KIND_USER_BROADCAST_PUSH) {
    if (buf.length < 7) throw new BadFrame("short user broadcast push header");
    const sizes = [buf[1], buf[2], buf[3], buf[4], buf[5]];
    const encoding = buf[6];
    let off = 7;
    const parts = sizes.map((n) => {
      if (off + n > buf.length) throw new BadFrame("user broadcast push header overruns the frame");
      const s = buf.subarray(off, off + n).toString("utf8");
      off += n;
      return s;
    });
    let metadata = {};
    if (parts[4].length > 0) {
      try {
        metadata = JSON.parse(parts[4]);
      } catch (e) {
        throw new BadFrame(`invalid user broadcast metadata: ${e.message}`);
      }
    }
    const payload = Buffer.from(buf.subarray(off));
    if (encoding === 1) {
      try {
        JSON.parse(payload.toString("utf8"));
      } catch (e) {
        throw new BadFrame(`invalid JSON user broadcast payload: ${e.message}`);
      }
    }
    return {
      joinRef: parts[0] || null,
      ref: parts[1] || null,
      topic: parts[2],
      event: "broadcast",
      payload: new UserBroadcast(parts[3], encoding === 0 ? 0 : 1, payload, metadata),
    };
  }
  throw new BadFrame(`unsupported binary frame kind ${kind}`);
}

function encodeText(joinRef, ref, topic, event, payload) {
  return JSON.stringify([joinRef, ref, topic, event, payload]);
}

// Server push with a binary payload: kind 0, no ref.
function encodeBinaryPush(joinRef, topic, event, data) {
  const j = field("join_ref", joinRef);
  const t = field("topic", topic);
  const e = field("event", event);
  return Buffer.concat([Buffer.from([KIND_PUSH, j.length, t.length, e.length]), j, t, e, data]);
}

function encodeBinaryReply(joinRef, ref, topic, status, data) {
  const j = field("join_ref", joinRef);
  const r = field("ref", ref);
  const t = field("topic", topic);
  const s = field("status", status);
  return Buffer.concat([Buffer.from([KIND_REPLY, j.length, r.length, t.length, s.length]), j, r, t, s, data]);
}

function encodeBinaryBroadcast(topic, event, data) {
  const t = field("topic", topic);
  const e = field("event", event);
  return Buffer.concat([Buffer.from([KIND_BROADCAST, t.length, e.length]), t, e, data]);
}

function encodeUserBroadcast(topic, userEvent, encoding, data) {
  const t = field("topic", topic);
  const e = field("user_event", userEvent);
  return Buffer.concat([Buffer.from([KIND_USER_BROADCAST, t.length, e.length, 0, encoding]), t, e, data]);
}

// ---------------------------------------------------------------------------------------------
// Presence (Phoenix.Presence over Phoenix.Tracker semantics, one node)

let uniqueCounter = 0;
// Phoenix.Tracker's ref: url-safe base64 of <<system_time_ns::64, phash2({node, pid})::16,
// unique_integer::16>>, 16 characters.
function phxRef(ownerHash) {
  const b = Buffer.alloc(12);
  const ns = BigInt(Date.now()) * 1000000n + BigInt(process.hrtime()[1] % 1000000);
  b.writeBigUInt64BE(ns, 0);
  b.writeUInt16BE(ownerHash & 0xffff, 8);
  uniqueCounter = (uniqueCounter + 1) & 0xffff;
  b.writeUInt16BE(uniqueCounter, 10);
  return b.toString("base64url");
}

// topicKey -> [{owner, key, meta}] in tracking order. `owner` is a Channel or a fake server-side
// presence ({fake: true, hash}).
const presences = new Map();

function presenceEntries(topicKey) {
  return presences.get(topicKey) || [];
}

function groupPresences(entries) {
  const out = {};
  for (const { key, meta } of entries) {
    if (!out[key]) out[key] = { metas: [] };
    out[key].metas.push(meta);
  }
  return out;
}

function presenceState(topicKey) {
  return groupPresences(presenceEntries(topicKey));
}

function presenceDiff(topicKey, joins, leaves) {
  if (joins.length === 0 && leaves.length === 0) return;
  broadcastTopic(topicKey, "presence_diff", { joins: groupPresences(joins), leaves: groupPresences(leaves) }, null);
}

function presenceTrack(topicKey, owner, key, meta) {
  const entry = { owner, key: String(key), meta: { ...meta, phx_ref: phxRef(owner.hash) } };
  if (!presences.has(topicKey)) presences.set(topicKey, []);
  presences.get(topicKey).push(entry);
  presenceDiff(topicKey, [entry], []);
  return entry;
}

function presenceUpdate(entry, topicKey, newMeta) {
  const prev = entry.meta;
  const meta = { ...newMeta };
  delete meta.phx_ref;
  delete meta.phx_ref_prev;
  meta.phx_ref = phxRef(entry.owner.hash);
  meta.phx_ref_prev = prev.phx_ref;
  entry.meta = meta;
  presenceDiff(topicKey, [{ key: entry.key, meta }], [{ key: entry.key, meta: prev }]);
  return entry;
}

function presenceUntrack(topicKey, predicate) {
  const list = presenceEntries(topicKey);
  const left = list.filter(predicate);
  if (left.length === 0) return [];
  const remaining = list.filter((e) => !predicate(e));
  if (remaining.length === 0) presences.delete(topicKey);
  else presences.set(topicKey, remaining);
  presenceDiff(topicKey, [], left);
  return left;
}

// ---------------------------------------------------------------------------------------------
// Subscriptions: topicKey -> Set<Channel>. Room topics are their own key; realtime topics are
// split into public and private like Supabase's tenant topics.

const subscribers = new Map();

function subscribe(ch) {
  if (!subscribers.has(ch.topicKey)) subscribers.set(ch.topicKey, new Set());
  subscribers.get(ch.topicKey).add(ch);
}

function unsubscribe(ch) {
  const set = subscribers.get(ch.topicKey);
  if (!set) return;
  set.delete(ch);
  if (set.size === 0) subscribers.delete(ch.topicKey);
}

// Phoenix fastlane broadcast: [null, null, topic, event, payload] (binary: kind 2) to every
// channel subscribed to the topic, except `exceptCh` (broadcast_from).
function broadcastTopic(topicKey, event, payload, exceptCh) {
  const set = subscribers.get(topicKey);
  if (!set) return 0;
  let n = 0;
  for (const ch of [...set]) {
    if (ch === exceptCh) continue;
    if (Buffer.isBuffer(payload)) ch.conn.send(encodeBinaryBroadcast(ch.topic, event, payload));
    else ch.conn.send(encodeText(null, null, ch.topic, event, payload));
    n++;
  }
  return n;
}

// Supabase user broadcast (from a kind 3 push): kind 4 frames, metadata dropped as the server does.
function userBroadcastTopic(topicKey, ub, exceptCh) {
  const set = subscribers.get(topicKey);
  if (!set) return 0;
  let n = 0;
  for (const ch of [...set]) {
    if (ch === exceptCh) continue;
    ch.conn.send(encodeUserBroadcast(ch.topic, ub.event, ub.encoding, ub.payload));
    n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// JWTs (Supabase tokens; only with --jwt-secret)

function b64urlJson(s) {
  return JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
}

// -> {ok: true, claims} | {ok: false, kind, message}
function verifyJwt(token) {
  if (typeof token !== "string") return { ok: false, kind: "invalid_token", message: "The token provided is not a valid JWT" };
  let t;
  try {
    t = decodeURIComponent(token).replace(/\s/g, "");
  } catch {
    t = token.replace(/\s/g, "");
  }
  const parts = t.split(".");
  let header;
  let claims;
  try {
    if (parts.length !== 3) throw new Error("parts");
    header = b64urlJson(parts[0]);
    claims = b64urlJson(parts[1]);
  } catch {
    return { ok: false, kind: "token_malformed", message: "The token provided is not a valid JWT" };
  }
  if (!isObject(header) || !isObject(claims)) {
    return { ok: false, kind: "token_malformed", message: "The token provided is not a valid JWT" };
  }
  const algs = { HS256: "sha256", HS384: "sha384", HS512: "sha512" };
  const alg = algs[header.alg];
  if (!alg) return { ok: false, kind: "error_generating_signer", message: "Failed to generate JWT signer, check your JWT secret or JWKS configuration" };
  const expected = crypto.createHmac(alg, opts.jwtSecret).update(`${parts[0]}.${parts[1]}`).digest();
  let given;
  try {
    given = Buffer.from(parts[2], "base64url");
  } catch {
    given = Buffer.alloc(0);
  }
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    return { ok: false, kind: "signature_error", message: "Failed to validate JWT signature" };
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === "number") {
    claims.exp = Math.round(claims.exp);
    if (claims.exp <= now) {
      return { ok: false, kind: "expired_token", message: `Token has expired ${now - claims.exp} seconds ago` };
    }
  }
  if (!("role" in claims) || !("exp" in claims)) {
    return { ok: false, kind: "missing_claims", message: "Fields `role` and `exp` are required in JWT" };
  }
  return { ok: true, claims };
}

// ---------------------------------------------------------------------------------------------
// Connections

const PHOENIX_PATH = "/socket/websocket";
const REALTIME_PATH = "/realtime/v1/websocket";

const conns = new Map(); // id -> Conn
let nextConnId = 1;
let blackholeAll = null; // mode applied to connections that open while it is set

class Conn {
  constructor(ws, path, params, protocol) {
    this.id = `s${nextConnId++}`;
    this.ws = ws;
    this.path = path;
    this.params = params;
    this.user = typeof params.user === "string" && params.user.length > 0 ? params.user : "carol";
    this.apikey = typeof params.apikey === "string" ? params.apikey : null;
    this.protocol = protocol || null;
    this.channels = new Map(); // topic -> Channel
    this.queue = Promise.resolve();
    this.closed = false;
    this.blackhole = blackholeAll; // null | "all" | "heartbeats"
    this.hash = crypto.randomInt(0, 65536);
    this.idleTimer = null;
    this.resetIdle();
  }

  resetIdle() {
    if (this.closed) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.close(1002, "heartbeat_timeout"), opts.heartbeatTimeoutMs);
    }
  }

  send(data) {
    if (this.closed || this.blackhole === "all") return;
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(data, { binary: Buffer.isBuffer(data) });
  }

  // Server-side close; every channel of the connection ends without a frame (their presences
  // leave for the other members).
  close(code, reason) {
    if (this.closed) return;
    try {
      this.ws.close(code);
    } catch (e) {
      log(`close ${this.id}: ${e.message}`);
      this.ws.terminate();
    }
    this.finish(code, reason, "server");
  }

  finish(code, reason, initiator) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    conns.delete(this.id);
    for (const ch of [...this.channels.values()]) endChannel(ch, "disconnect");
    report({ event: "disconnect", socket: this.id, code, reason, initiator });
  }
}

// ---------------------------------------------------------------------------------------------
// Channels

class Channel {
  // `rawJoinRef` is the join message's join_ref (what Phoenix keeps for phx_close, phx_error and
  // the leave check); replies and pushes carry join_ref || ref.
  constructor(conn, topic, rawJoinRef, ref, kind) {
    this.conn = conn;
    this.topic = topic;
    this.rawJoinRef = rawJoinRef;
    this.joinRef = rawJoinRef === null ? ref : rawJoinRef;
    this.kind = kind; // "room" | "realtime"
    this.topicKey = topic;
    this.state = "joined";
    this.timers = new Set();
    this.hash = crypto.randomInt(0, 65536);
    this.presence = null; // own presence entry
  }

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.state !== "closed") fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  reply(ref, status, response) {
    const c = this.conn;
    if (Buffer.isBuffer(response)) c.send(encodeBinaryReply(this.joinRef, ref, this.topic, status, response));
    else c.send(encodeText(this.joinRef, ref, this.topic, "phx_reply", { response, status }));
  }

  // Phoenix.Channel.push/3: join ref, no ref.
  push(event, payload) {
    const c = this.conn;
    if (Buffer.isBuffer(payload)) c.send(encodeBinaryPush(this.joinRef, this.topic, event, payload));
    else c.send(encodeText(this.joinRef, null, this.topic, event, payload));
  }
}

// Ends a channel on the server: unsubscribes it, drops its presences (a leave diff to the other
// members) and forgets it. The caller sends the frame that goes with the reason, if any.
function endChannel(ch, reason) {
  if (ch.state === "closed") return;
  ch.state = "closed";
  for (const t of ch.timers) clearTimeout(t);
  ch.timers.clear();
  if (ch.conn.channels.get(ch.topic) === ch) ch.conn.channels.delete(ch.topic);
  unsubscribe(ch);
  presenceUntrack(ch.topicKey, (e) => e.owner === ch);
  report({ event: "leave", socket: ch.conn.id, topic: ch.topic, join_ref: ch.joinRef, reason });
}

// The channel process crashed: phx_error with the join ref in both ref slots, payload {} (1.7.24).
function crashChannel(ch) {
  if (ch.state === "closed") return;
  endChannel(ch, "crash");
  ch.conn.send(encodeText(ch.rawJoinRef, ch.rawJoinRef, ch.topic, "phx_error", {}));
}

// The channel stopped normally ({:stop, reason, socket}): phx_close, join ref in both slots.
function closeChannel(ch, reason) {
  if (ch.state === "closed") return;
  endChannel(ch, reason);
  ch.conn.send(encodeText(ch.rawJoinRef, ch.rawJoinRef, ch.topic, "phx_close", {}));
}

function channelKindFor(topic) {
  if (topic.startsWith("room:")) return "room";
  if (topic.startsWith("realtime:")) return "realtime";
  return null;
}

// ---------------------------------------------------------------------------------------------
// Incoming frames (Phoenix.Socket.__in__/handle_in)

function handleFrame(conn, msg) {
  const { joinRef, ref, topic, event, payload } = msg;
  if (topic === "phoenix" && event === "heartbeat") {
    report({ event: "heartbeat", socket: conn.id, ref });
    if (conn.blackhole === "heartbeats") return undefined;
    conn.send(encodeText(null, ref, "phoenix", "phx_reply", { response: {}, status: "ok" }));
    return undefined;
  }
  report({
    event: "received",
    socket: conn.id,
    topic,
    name: event,
    join_ref: joinRef,
    ref,
    payload: event === "phx_join" ? redactJoinPayload(topic, payload) : payloadView(payload),
  });
  const ch = conn.channels.get(topic);
  if (event === "phx_join") {
    if (ch) {
      // Duplicate join: the existing channel is shut down, the new join is answered, then the
      // old channel's phx_close follows (Phoenix queues it to itself before joining again).
      endChannel(ch, "duplicate_join");
      const closeFrame = encodeText(ch.rawJoinRef, ch.rawJoinRef, ch.topic, "phx_close", {});
      return join(conn, msg, () => conn.send(closeFrame));
    }
    return join(conn, msg, null);
  }
  if (!ch) {
    if (event === "phx_leave") {
      conn.send(encodeText(joinRef, ref, topic, "phx_reply", { response: {}, status: "ok" }));
    } else {
      conn.send(encodeText(null, ref, topic, "phx_reply", { response: { reason: "unmatched topic" }, status: "error" }));
    }
    return undefined;
  }
  if (event === "phx_leave") {
    if (ch.rawJoinRef !== joinRef && ch.rawJoinRef !== null) {
      // Another join ref: the client raced a server close; Phoenix 1.7.24 does not answer.
      return undefined;
    }
    ch.reply(ref, "ok", {});
    closeChannel(ch, "leave");
    return undefined;
  }
  // Phoenix 1.7.24 hands any message on a joined topic to the channel, whatever its join ref.
  if (ch.kind === "room") roomIn(ch, event, payload, ref);
  else realtimeIn(ch, event, payload, ref);
  return undefined;
}

// Phoenix.Socket's join path. Returns a promise when the join is delayed (the transport blocks on
// Channel.Server.join, so later frames of this connection wait too).
function join(conn, msg, afterReply) {
  const { joinRef, ref, topic, payload } = msg;
  const kind = channelKindFor(topic);
  const finish = (status, response, ch) => {
    report({ event: "join", socket: conn.id, topic, join_ref: joinRef, ref, status, response });
    if (afterReply) afterReply();
    if (ch) ch.afterJoin();
  };
  if (!kind) {
    conn.send(encodeText(null, ref, topic, "phx_reply", { response: { reason: "unmatched topic" }, status: "error" }));
    finish("error", { reason: "unmatched topic" }, null);
    return undefined;
  }
  if (conn.channels.size >= opts.maxChannels) {
    const response = conn.path === REALTIME_PATH && kind === "realtime"
      ? { reason: "ChannelRateLimitReached: Too many channels" }
      : { reason: "too many channels joined" };
    conn.send(encodeText(joinRef, ref, topic, "phx_reply", { response, status: "error" }));
    finish("error", response, null);
    return undefined;
  }
  const run = () => {
    if (conn.closed) return;
    const ch = new Channel(conn, topic, joinRef, ref, kind);
    const result = kind === "room" ? roomJoin(ch, payload) : realtimeJoin(ch, payload);
    const sendResult = () => {
      if (conn.closed) {
        ch.state = "closed";
        for (const t of ch.timers) clearTimeout(t);
        return;
      }
      if (result.status === "ok") {
        conn.channels.set(topic, ch);
        subscribe(ch);
        ch.afterJoin = result.afterJoin || (() => {});
        conn.send(encodeText(joinRef, ref, topic, "phx_reply", { response: result.response, status: "ok" }));
        finish("ok", result.response, ch);
      } else {
        conn.send(encodeText(joinRef, ref, topic, "phx_reply", { response: result.response, status: "error" }));
        finish("error", result.response, null);
      }
    };
    const backoff = result.status === "error" && kind === "realtime" ? opts.joinErrorBackoffMs : 0;
    const delay = (result.delayMs || 0) + backoff;
    if (delay > 0) return new Promise((resolve) => setTimeout(() => { sendResult(); resolve(); }, delay));
    sendResult();
    return undefined;
  };
  return run();
}

// ---------------------------------------------------------------------------------------------
// room:* channels (the recorded server's channels)

function roomJoin(ch, payload) {
  const delayMs = isObject(payload) && Number.isInteger(payload.join_delay_ms) && payload.join_delay_ms > 0
    ? payload.join_delay_ms : 0;
  if (ch.topic === "room:forbidden") return { status: "error", response: { reason: "unauthorized" }, delayMs };
  if (isObject(payload) && isObject(payload.reject)) return { status: "error", response: payload.reject, delayMs };
  return {
    status: "ok",
    response: {},
    delayMs,
    // handle_info(:after_join): Presence.track (diff to the topic), then push presence_state.
    afterJoin: () => {
      if (ch.state === "closed") return;
      ch.presence = presenceTrack(ch.topicKey, ch, ch.conn.user, { online_at: Math.floor(Date.now() / 1000) });
      ch.push("presence_state", presenceState(ch.topicKey));
    },
  };
}

function roomIn(ch, event, payload, ref) {
  switch (event) {
    case "ping":
      ch.reply(ref, "ok", payload);
      break;
    case "nack":
      ch.reply(ref, "error", payload);
      break;
    case "shout":
      broadcastTopic(ch.topicKey, "shout", payload, null);
      break;
    case "shout_others":
      broadcastTopic(ch.topicKey, "shout_others", payload, ch);
      break;
    case "slow": {
      const ms = isObject(payload) && Number.isFinite(payload.ms) && payload.ms >= 0 ? payload.ms : 1000;
      ch.later(ms, () => ch.reply(ref, "ok", payload));
      break;
    }
    case "noreply":
      break;
    case "echo_binary":
      ch.reply(ref, "ok", Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload), "utf8"));
      break;
    case "push_me":
      if (Buffer.isBuffer(payload)) ch.push("pushed", payload);
      else {
        const p = isObject(payload) ? payload : {};
        ch.push(typeof p.event === "string" ? p.event : "pushed", p.payload === undefined ? {} : p.payload);
      }
      break;
    case "presence_update": {
      // The reply goes straight to the socket; the diff takes the tracker's way, later.
      if (ch.presence && presenceEntries(ch.topicKey).includes(ch.presence)) {
        const extra = isObject(payload) ? payload : {};
        ch.reply(ref, "ok", {});
        presenceUpdate(ch.presence, ch.topicKey, { online_at: ch.presence.meta.online_at, ...extra });
      } else {
        ch.reply(ref, "error", { reason: "not tracked" });
      }
      break;
    }
    case "whoami":
      ch.reply(ref, "ok", { socket: ch.conn.id, user: ch.conn.user, topic: ch.topic, join_ref: ch.joinRef });
      break;
    case "crash":
      crashChannel(ch);
      break;
    case "close_me":
      closeChannel(ch, "close");
      break;
    default:
      // A catch-all handle_in: {:noreply, socket}.
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// realtime:* channels (Supabase Realtime shaped)

function flexBool(v) {
  return v === true || v === "true" || v === 1 || v === "1";
}

// Stands in for :erlang.phash2(params): a stable 27-bit integer of the binding's params.
function bindingId(params) {
  const canon = JSON.stringify(Object.keys(params).sort().map((k) => [k, params[k]]));
  return crypto.createHash("sha1").update(canon).digest().readUInt32BE(0) & 0x7ffffff;
}

function tokenError(kind, message) {
  // Join refusals as RealtimeChannel.join/3 words them.
  switch (kind) {
    case "expired_token":
    case "missing_claims":
      return `InvalidJWTToken: ${message}`;
    case "token_malformed":
    case "invalid_token":
      return `MalformedJWT: ${message}`;
    case "signature_error":
      return `JwtSignatureError: ${message}`;
    case "error_generating_signer":
      return `JwtSignerError: ${message}`;
    default:
      return `Unknown Error on Channel`;
  }
}

function realtimeJoin(ch, payload) {
  const sub = ch.topic.slice("realtime:".length);
  if (sub === "") return { status: "error", response: { reason: "TopicNameRequired: You must provide a topic name" } };
  const p = isObject(payload) ? payload : {};
  const config = isObject(p.config) ? p.config : {};
  const broadcast = isObject(config.broadcast) ? config.broadcast : {};
  const presence = isObject(config.presence) ? config.presence : {};
  const isPrivate = flexBool(config.private);
  const rt = {
    sub,
    private: isPrivate,
    ack: flexBool(broadcast.ack),
    self: flexBool(broadcast.self),
    presenceEnabled: flexBool(presence.enabled),
    presenceKey: presence.key === undefined || presence.key === null || presence.key === ""
      ? crypto.randomUUID() : String(presence.key),
    accessToken: null,
    trackPayload: undefined,
    presenceCalls: 0,
    presenceWindowEnd: 0,
    bindings: [],
  };
  let token = p.access_token || p.user_token || ch.conn.apikey;
  if (typeof token === "string" && token.startsWith("sb_")) token = ch.conn.apikey;
  rt.accessToken = typeof token === "string" ? token : null;
  let expMs = null;
  if (opts.jwtSecret) {
    const v = verifyJwt(rt.accessToken);
    if (!v.ok) return { status: "error", response: { reason: tokenError(v.kind, v.message) } };
    expMs = v.claims.exp * 1000;
  }
  if (isPrivate && sub.startsWith("forbidden")) {
    return {
      status: "error",
      response: { reason: `Unauthorized: You do not have permissions to read from this Channel topic: ${sub}` },
    };
  }
  const list = Array.isArray(config.postgres_changes) ? config.postgres_changes.filter((b) => b !== null && b !== undefined) : [];
  rt.bindings = list.map((b) => {
    const params = isObject(b) ? b : {};
    return { params, id: bindingId(params) };
  });
  ch.rt = rt;
  ch.topicKey = `${isPrivate ? "private" : "public"}|${ch.topic}`;
  if (expMs !== null) scheduleTokenCheck(ch, expMs);
  return {
    status: "ok",
    response: { postgres_changes: rt.bindings.map((b) => ({ ...b.params, id: b.id })) },
    afterJoin: () => {
      if (ch.state === "closed") return;
      if (rt.bindings.length > 0) systemMessage(ch, "postgres_changes", "ok", "Subscribed to PostgreSQL");
      if (flexBool(broadcast.replication_ready)) systemMessage(ch, "system", "ok", "Replication connection established");
      if (rt.presenceEnabled) ch.push("presence_state", presenceState(ch.topicKey));
    },
  };
}

function systemMessage(ch, extension, status, message) {
  ch.push("system", { channel: ch.rt.sub, extension, message, status });
}

// shutdown_response/2: a system error message, then the channel stops normally (phx_close).
function realtimeShutdown(ch, message) {
  if (ch.state === "closed") return;
  systemMessage(ch, "system", "error", message);
  closeChannel(ch, "shutdown");
}

// :confirm_token, every 5 minutes or at the token's expiry, whichever is first.
function scheduleTokenCheck(ch, expMs) {
  if (ch.rt.tokenTimer) {
    clearTimeout(ch.rt.tokenTimer);
    ch.timers.delete(ch.rt.tokenTimer);
  }
  const wait = Math.max(0, Math.min(5 * 60 * 1000, expMs - Date.now()));
  ch.rt.tokenTimer = ch.later(wait, () => {
    ch.rt.tokenTimer = null;
    const v = verifyJwt(ch.rt.accessToken);
    if (v.ok) scheduleTokenCheck(ch, v.claims.exp * 1000);
    else realtimeShutdown(ch, v.kind === "signature_error" ? ":signature_error" : v.message);
  });
}

function realtimeIn(ch, event, payload, ref) {
  const rt = ch.rt;
  switch (event) {
    case "broadcast": {
      const exceptCh = rt.self ? null : ch;
      if (payload instanceof UserBroadcast) userBroadcastTopic(ch.topicKey, payload, exceptCh);
      else broadcastTopic(ch.topicKey, "broadcast", payload, exceptCh);
      if (rt.ack) ch.reply(ref, "ok", {});
      break;
    }
    case "presence":
      realtimePresence(ch, payload, ref);
      break;
    case "access_token": {
      const token = isObject(payload) ? payload.access_token : undefined;
      if (typeof token !== "string") break; // nil or absent: ignored
      if (token.startsWith("sb_") || token === rt.accessToken) break;
      rt.accessToken = token;
      if (!opts.jwtSecret) break;
      const v = verifyJwt(token);
      if (v.ok) scheduleTokenCheck(ch, v.claims.exp * 1000);
      else realtimeShutdown(ch, v.kind === "signature_error" ? ":signature_error" : v.message);
      break;
    }
    default:
      // "Unexpected message from client": logged, no reply.
      break;
  }
}

function realtimePresence(ch, payload, ref) {
  const rt = ch.rt;
  if (!isObject(payload) || typeof payload.event !== "string") {
    ch.reply(ref, "ok", {});
    return;
  }
  const now = Date.now();
  if (now > rt.presenceWindowEnd) {
    rt.presenceWindowEnd = now + opts.presenceRateWindowMs;
    rt.presenceCalls = 1;
  } else if (rt.presenceCalls >= opts.presenceRateLimit) {
    realtimeShutdown(ch, "Client presence rate limit exceeded");
    return;
  } else {
    rt.presenceCalls++;
  }
  const event = payload.event.toLowerCase();
  if (event === "track") {
    const meta = payload.payload === undefined ? {} : payload.payload;
    if (!isObject(meta)) {
      ch.reply(ref, "error", { reason: "Presence track payload must be a map" });
      return;
    }
    // The reply goes straight to the socket; the diff takes the tracker's way, later.
    ch.reply(ref, "ok", {});
    if (rt.trackPayload !== undefined && JSON.stringify(rt.trackPayload) === JSON.stringify(meta)) return;
    const own = presenceEntries(ch.topicKey).find((e) => e.owner === ch);
    if (own) presenceUpdate(own, ch.topicKey, meta);
    else presenceTrack(ch.topicKey, ch, rt.presenceKey, meta);
    rt.presenceEnabled = true;
    rt.trackPayload = meta;
  } else if (event === "untrack") {
    ch.reply(ref, "ok", {});
    presenceUntrack(ch.topicKey, (e) => e.owner === ch);
    rt.trackPayload = undefined;
  } else {
    ch.reply(ref, "error", {});
  }
}

// Supabase postgres_changes filter: "column=op.value" (eq, neq, lt, lte, gt, gte, in).
function filterMatches(filter, row) {
  if (filter === undefined || filter === null || filter === "") return true;
  const m = /^([^=]+)=(eq|neq|lt|lte|gt|gte|in)\.(.*)$/s.exec(String(filter));
  if (!m || !isObject(row)) return false;
  const [, col, op, raw] = m;
  const v = row[col];
  const str = v === null || v === undefined ? null : String(v);
  const cmp = (a, b) => {
    const na = Number(a);
    const nb = Number(b);
    if (a !== null && Number.isFinite(na) && Number.isFinite(nb) && String(a).trim() !== "" && String(b).trim() !== "") return na - nb;
    return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  };
  switch (op) {
    case "eq": return str !== null && cmp(str, raw) === 0;
    case "neq": return str !== null && cmp(str, raw) !== 0;
    case "lt": return str !== null && cmp(str, raw) < 0;
    case "lte": return str !== null && cmp(str, raw) <= 0;
    case "gt": return str !== null && cmp(str, raw) > 0;
    case "gte": return str !== null && cmp(str, raw) >= 0;
    case "in": {
      const inner = raw.replace(/^\(/, "").replace(/\)$/, "");
      const values = inner.split(",").map((s) => s.trim().replace(/^"(.*)"$/, "$1"));
      return str !== null && values.some((x) => cmp(str, x) === 0);
    }
    default: return false;
  }
}

function pgType(v) {
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int8" : "float8";
  if (v !== null && typeof v === "object") return "jsonb";
  return "text";
}

function postgresChange(cmd) {
  const type = String(cmd.type || "").toUpperCase();
  if (!["INSERT", "UPDATE", "DELETE"].includes(type)) throw new Error("type must be INSERT, UPDATE or DELETE");
  if (typeof cmd.schema !== "string" || typeof cmd.table !== "string") throw new Error("schema and table are required");
  const record = type === "DELETE" ? null : (isObject(cmd.record) ? cmd.record : {});
  const oldRecord = type === "INSERT" ? null : (isObject(cmd.old_record) ? cmd.old_record : {});
  const sample = record || oldRecord || {};
  const columns = Array.isArray(cmd.columns)
    ? cmd.columns
    : Object.keys(sample).map((name) => ({ name, type: pgType(sample[name]) }));
  const data = {
    columns,
    commit_timestamp: typeof cmd.commit_timestamp === "string" ? cmd.commit_timestamp : new Date().toISOString(),
    errors: cmd.errors === undefined ? null : cmd.errors,
  };
  if (oldRecord !== null) data.old_record = oldRecord;
  if (record !== null) data.record = record;
  data.schema = cmd.schema;
  data.table = cmd.table;
  data.type = type;
  const row = type === "DELETE" ? oldRecord : record;
  let delivered = 0;
  for (const conn of conns.values()) {
    for (const ch of conn.channels.values()) {
      if (ch.kind !== "realtime" || ch.state !== "joined") continue;
      if (cmd.topic !== undefined && ch.topic !== cmd.topic) continue;
      const ids = [];
      for (const b of ch.rt.bindings) {
        const p = b.params;
        const ev = p.event === undefined ? "*" : String(p.event).toUpperCase();
        if (ev !== "*" && ev !== type) continue;
        if (p.schema !== undefined && p.schema !== "*" && p.schema !== cmd.schema) continue;
        if (p.table !== undefined && p.table !== "*" && p.table !== cmd.table) continue;
        if (!filterMatches(p.filter, row)) continue;
        if (!ids.includes(b.id)) ids.push(b.id);
      }
      if (ids.length === 0) continue;
      conn.send(encodeText(null, null, ch.topic, "postgres_changes", { ids, data }));
      delivered++;
    }
  }
  return delivered;
}

// ---------------------------------------------------------------------------------------------
// HTTP and WebSocket upgrade

function queryParams(url) {
  const params = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  return params;
}

function authTokenFromProtocols(header) {
  if (typeof header !== "string") return null;
  const prefix = "base64url.bearer.phx.";
  for (const p of header.split(",").map((s) => s.trim())) {
    if (p.startsWith(prefix)) {
      try {
        return Buffer.from(p.slice(prefix.length), "base64").toString("utf8");
      } catch {
        return null;
      }
    }
  }
  return null;
}

function refuseUpgrade(socket, status, body, contentType) {
  const text = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found" }[status] || "Error";
  const b = Buffer.from(body || "", "utf8");
  const headers = [`HTTP/1.1 ${status} ${text}`, `content-length: ${b.length}`, "connection: close"];
  if (contentType) headers.push(`content-type: ${contentType}`);
  socket.end(Buffer.concat([Buffer.from(`${headers.join("\r\n")}\r\n\r\n`), b]));
}

const httpServer = http.createServer((req, res) => {
  let path = "/";
  try {
    path = new URL(req.url, "http://localhost").pathname;
  } catch {
    // keep "/"
  }
  // A plain HTTP request to a WebSocket path is a failed upgrade (400); longpoll is not enabled,
  // like on the recorded server (404), and so is anything else.
  const status = (path === PHOENIX_PATH || path === REALTIME_PATH) ? 400 : 404;
  report({ event: "http", method: req.method, path, status });
  res.writeHead(status, { "content-length": 0 });
  res.end();
});

const wss = new WebSocketServer({
  noServer: true,
  maxPayload: opts.maxFrameBytes,
  perMessageDeflate: false,
  clientTracking: false,
  autoPong: false, // answered below, unless the connection is blackholed
  handleProtocols: (protocols) => (protocols.has("phoenix") ? "phoenix" : false),
});

httpServer.on("upgrade", (req, socket, head) => {
  socket.on("error", () => {});
  let url;
  try {
    url = new URL(req.url, "http://localhost");
  } catch {
    refuseUpgrade(socket, 400, "");
    return;
  }
  const path = url.pathname;
  const params = queryParams(url);
  const refuse = (status, reason, body, contentType) => {
    report({ event: "refused", status, reason, path, params: redactParams(params) });
    refuseUpgrade(socket, status, body, contentType);
  };
  if (path !== PHOENIX_PATH && path !== REALTIME_PATH) return refuse(404, "no route");
  if (req.method !== "GET") return refuse(400, "method");
  // Phoenix negotiates the serializer from vsn (default "1.0.0"); this server speaks only v2.
  const vsn = params.vsn === undefined ? "1.0.0" : params.vsn;
  if (!/^2\.0\.\d+$/.test(vsn)) return refuse(403, "vsn");
  const bearer = authTokenFromProtocols(req.headers["sec-websocket-protocol"]);
  if (path === PHOENIX_PATH) {
    if (opts.token !== null && params.token !== opts.token && bearer !== opts.token) return refuse(403, "token");
  } else if (opts.jwtSecret) {
    const key = req.headers["x-api-key"] || params.apikey;
    if (typeof key !== "string") return refuse(401, "missing_api_key", JSON.stringify({ error: "API key is missing" }), "application/json");
    const v = verifyJwt(key);
    if (!v.ok) {
      const msg = v.kind === "signature_error" ? "Failed to validate JWT signature"
        : v.kind === "expired_token" ? "Token has expired"
          : v.message;
      return refuse(401, v.kind, JSON.stringify({ error: msg }), "application/json");
    }
    params.apikey = key;
  }
  wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, path, params));
  return undefined;
});

function onConnection(ws, path, params) {
  const conn = new Conn(ws, path, params, ws.protocol);
  conns.set(conn.id, conn);
  report({ event: "connect", socket: conn.id, path, params: redactParams(params), user: conn.user, protocol: conn.protocol });
  ws.on("message", (data, isBinary) => {
    if (conn.closed || conn.blackhole === "all") return;
    conn.resetIdle();
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    conn.queue = conn.queue.then(() => {
      if (conn.closed) return undefined;
      let msg;
      try {
        msg = decodeFrame(buf, isBinary);
      } catch (e) {
        // The socket process would crash on a frame it cannot decode.
        log(`${conn.id}: bad frame: ${e.message}`);
        report({ event: "bad_frame", socket: conn.id, error: e.message });
        conn.close(1011, "bad_frame");
        return undefined;
      }
      return handleFrame(conn, msg);
    }).catch((e) => {
      log(`${conn.id}: handler error: ${e.stack || e}`);
      conn.close(1011, "server_error");
    });
  });
  ws.on("ping", (data) => {
    if (conn.blackhole === "all" || conn.closed) return;
    conn.resetIdle();
    ws.pong(data);
  });
  ws.on("close", (code) => {
    // A close the server started was already reported when it started.
    conn.finish(code, code === 1009 ? "frame_too_big" : "client", "client");
  });
  ws.on("error", (e) => {
    log(`${conn.id}: ${e.message}`);
  });
}

// ---------------------------------------------------------------------------------------------
// stdin commands

function payloadOf(cmd) {
  if (typeof cmd.base64 === "string") return Buffer.from(cmd.base64, "base64");
  return cmd.payload === undefined ? {} : cmd.payload;
}

function requireString(cmd, name) {
  if (typeof cmd[name] !== "string" || cmd[name] === "") throw new Error(`${name} is required`);
  return cmd[name];
}

// Topic keys for a client topic: realtime topics have a public and a private side.
function topicKeysFor(topic, priv) {
  if (!topic.startsWith("realtime:")) return [topic];
  if (priv === true) return [`private|${topic}`];
  if (priv === false) return [`public|${topic}`];
  return [`public|${topic}`, `private|${topic}`];
}

function channelsFor(cmd) {
  const topic = requireString(cmd, "topic");
  const out = [];
  for (const conn of conns.values()) {
    if (cmd.socket !== undefined && conn.id !== cmd.socket) continue;
    const ch = conn.channels.get(topic);
    if (ch && ch.state === "joined") out.push(ch);
  }
  return out;
}

const fakeOwners = []; // server-side presences: {fake: true, hash}

function runCommand(cmd) {
  switch (cmd.cmd) {
    case "broadcast": {
      const topic = requireString(cmd, "topic");
      const event = requireString(cmd, "event");
      const payload = payloadOf(cmd);
      let delivered = 0;
      for (const key of topicKeysFor(topic, cmd.private)) delivered += broadcastTopic(key, event, payload, null);
      return { delivered };
    }
    case "push": {
      const event = requireString(cmd, "event");
      const payload = payloadOf(cmd);
      const chans = channelsFor(cmd);
      for (const ch of chans) ch.push(event, payload);
      return { delivered: chans.length };
    }
    case "postgres_change":
      return { delivered: postgresChange(cmd) };
    case "disconnect": {
      const code = cmd.code === undefined ? 1000 : cmd.code;
      if (!Number.isInteger(code)) throw new Error("code must be an integer");
      const targets = [...conns.values()].filter((c) => cmd.socket === undefined || c.id === cmd.socket);
      for (const c of targets) c.close(code, "server");
      return { sockets: targets.map((c) => c.id) };
    }
    case "crash": {
      const chans = channelsFor(cmd);
      for (const ch of chans) crashChannel(ch);
      return { channels: chans.length };
    }
    case "stop": {
      const chans = channelsFor(cmd);
      for (const ch of chans) {
        if (ch.kind === "realtime" && typeof cmd.message === "string") realtimeShutdown(ch, cmd.message);
        else closeChannel(ch, "stop");
      }
      return { channels: chans.length };
    }
    case "track": {
      const topic = requireString(cmd, "topic");
      const key = cmd.key === undefined ? null : cmd.key;
      if (key === null) throw new Error("key is required");
      const meta = cmd.meta === undefined ? {} : cmd.meta;
      if (!isObject(meta)) throw new Error("meta must be an object");
      const [topicKey] = topicKeysFor(topic, cmd.private === true);
      const owner = { fake: true, hash: crypto.randomInt(0, 65536) };
      fakeOwners.push(owner);
      const entry = presenceTrack(topicKey, owner, key, meta);
      return { phx_ref: entry.meta.phx_ref };
    }
    case "untrack":
    case "presence_update": {
      const topic = requireString(cmd, "topic");
      if (cmd.key === undefined) throw new Error("key is required");
      const key = String(cmd.key);
      const [topicKey] = topicKeysFor(topic, cmd.private === true);
      const pick = (e) => e.owner.fake === true && e.key === key &&
        (cmd.phx_ref === undefined || e.meta.phx_ref === cmd.phx_ref);
      if (cmd.cmd === "untrack") {
        return { left: presenceUntrack(topicKey, pick).length };
      }
      const meta = cmd.meta === undefined ? {} : cmd.meta;
      if (!isObject(meta)) throw new Error("meta must be an object");
      const refs = [];
      for (const e of presenceEntries(topicKey).filter(pick)) refs.push(presenceUpdate(e, topicKey, meta).meta.phx_ref);
      return { phx_refs: refs };
    }
    case "presence": {
      const topic = requireString(cmd, "topic");
      const [topicKey] = topicKeysFor(topic, cmd.private === true);
      return { state: presenceState(topicKey) };
    }
    case "blackhole": {
      const on = cmd.on !== false;
      const mode = cmd.mode === undefined ? "all" : cmd.mode;
      if (mode !== "all" && mode !== "heartbeats") throw new Error("mode must be all or heartbeats");
      const value = on ? mode : null;
      const targets = [...conns.values()].filter((c) => cmd.socket === undefined || c.id === cmd.socket);
      for (const c of targets) c.blackhole = value;
      if (cmd.socket === undefined) blackholeAll = value;
      return { sockets: targets.map((c) => c.id) };
    }
    case "sockets":
      return {
        sockets: [...conns.values()].map((c) => ({
          id: c.id,
          path: c.path,
          user: c.user,
          params: redactParams(c.params),
          channels: [...c.channels.values()].map((ch) => ({ topic: ch.topic, join_ref: ch.joinRef })),
        })),
      };
    case "close":
      return { exit: true };
    default:
      throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`);
  }
}

function onCommandLine(line) {
  const trimmed = line.trim();
  if (trimmed === "") return;
  let cmd;
  try {
    cmd = JSON.parse(trimmed);
  } catch (e) {
    report({ event: "done", cmd: null, ok: false, error: `invalid JSON: ${e.message}` });
    return;
  }
  if (!isObject(cmd)) {
    report({ event: "done", cmd: null, ok: false, error: "a command is a JSON object" });
    return;
  }
  const base = { event: "done", cmd: cmd.cmd === undefined ? null : cmd.cmd };
  if (cmd.id !== undefined) base.id = cmd.id;
  let result;
  try {
    result = runCommand(cmd);
  } catch (e) {
    report({ ...base, ok: false, error: e.message });
    return;
  }
  if (result && result.exit) {
    report({ ...base, ok: true });
    shutdown(0);
    return;
  }
  report({ ...base, ok: true, ...result });
}

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
  report({ event: "listening", port: httpServer.address().port });
  log(`listening on ${opts.host}:${httpServer.address().port}`);
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on("line", onCommandLine);
  rl.on("close", () => {
    if (!opts.ignoreStdinEof) shutdown(0);
  });
});
