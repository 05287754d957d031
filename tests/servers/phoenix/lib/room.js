// room:* channels (the recorded server's channels, plus the test extensions of README.md).
"use strict";

const { isObject } = require("./output");
const { broadcastTopic } = require("./pubsub");
const { presenceEntries, presenceState, presenceTrack, presenceUpdate } = require("./presence");
const { crashChannel, closeChannel } = require("./channel");

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

module.exports = { roomJoin, roomIn };
