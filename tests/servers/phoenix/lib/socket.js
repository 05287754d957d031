// Incoming frames of one socket (Phoenix.Socket.__in__/handle_in): heartbeats, joins (duplicate,
// limited, delayed), leaves, unmatched topics, and everything else handed to the channel.
"use strict";

const { opts } = require("./options");
const { encodeText } = require("./frames");
const { report, reports, payloadView, redactJoinPayload } = require("./output");
const { subscribe } = require("./pubsub");
const { Channel, endChannel, closeChannel } = require("./channel");
const { REALTIME_PATH } = require("./connection");
const { roomJoin, roomIn } = require("./room");
const { realtimeJoin, realtimeIn } = require("./realtime");

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
    if (reports("heartbeat")) report({ event: "heartbeat", socket: conn.id, ref });
    if (conn.blackhole === "heartbeats") return undefined;
    conn.send(encodeText(null, ref, "phoenix", "phx_reply", { response: {}, status: "ok" }));
    return undefined;
  }
  if (reports("received")) {
    report({
      event: "received",
      socket: conn.id,
      topic,
      name: event,
      join_ref: joinRef,
      ref,
      payload: event === "phx_join" ? redactJoinPayload(topic, payload) : payloadView(payload),
    });
  }
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

module.exports = { handleFrame };
