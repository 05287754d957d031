// Phoenix Channels v2 framing (text: JSON arrays; binary: the v2 serializer's kinds 0/1/2, plus
// Supabase Realtime's user broadcast push 3 (client to server) and user broadcast 4). Pure.
"use strict";

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

module.exports = {
  BadFrame,
  UserBroadcast,
  decodeFrame,
  encodeText,
  encodeBinaryPush,
  encodeBinaryReply,
  encodeBinaryBroadcast,
  encodeUserBroadcast,
};
