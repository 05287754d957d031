// realtime:* channels (Supabase Realtime shaped): the join config and its postgres_changes
// bindings, system messages, broadcast, presence track/untrack, access tokens and shutdowns.
"use strict";

const crypto = require("crypto");
const { opts } = require("./options");
const { UserBroadcast } = require("./frames");
const { isObject } = require("./output");
const { broadcastTopic, userBroadcastTopic } = require("./pubsub");
const { presenceEntries, presenceState, presenceTrack, presenceUpdate, presenceUntrack } = require("./presence");
const { closeChannel } = require("./channel");
const { verifyJwt } = require("./jwt");

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

module.exports = { realtimeJoin, realtimeIn, realtimeShutdown };
