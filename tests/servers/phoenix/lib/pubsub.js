// Subscriptions: topicKey -> Set<Channel>. Room topics are their own key; realtime topics are
// split into public and private like Supabase's tenant topics. Broadcasts go through here.
"use strict";

const { encodeText, encodeBinaryBroadcast, encodeUserBroadcast } = require("./frames");

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

module.exports = { subscribe, unsubscribe, broadcastTopic, userBroadcastTopic };
