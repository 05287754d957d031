// Presence (Phoenix.Presence over Phoenix.Tracker semantics, one node): who is tracked on each
// topic key, and the presence_diff broadcasts that changes cause.
"use strict";

const { broadcastTopic } = require("./pubsub");

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

module.exports = {
  presenceEntries,
  presenceState,
  presenceTrack,
  presenceUpdate,
  presenceUntrack,
};
