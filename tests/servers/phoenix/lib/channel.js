// A joined channel on the server (one topic of one socket), and the three ways it ends: ended
// quietly, crashed (phx_error), stopped (phx_close).
"use strict";

const crypto = require("crypto");
const { encodeText, encodeBinaryPush, encodeBinaryReply } = require("./frames");
const { report } = require("./output");
const { unsubscribe } = require("./pubsub");
const { presenceUntrack } = require("./presence");

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

module.exports = { Channel, endChannel, crashChannel, closeChannel };
