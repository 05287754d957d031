// stdin commands (README.md, "Commands"): one JSON object per line, each answered with a `done`
// report.
"use strict";

const crypto = require("crypto");
const { isObject, report, redactParams } = require("./output");
const { broadcastTopic } = require("./pubsub");
const { presenceEntries, presenceState, presenceTrack, presenceUpdate, presenceUntrack } = require("./presence");
const { crashChannel, closeChannel } = require("./channel");
const { conns, setBlackholeForNewSockets, arrivals } = require("./connection");
const { opts } = require("./options");
const { realtimeShutdown } = require("./realtime");
const { postgresChange } = require("./postgres-changes");

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
      if (cmd.socket === undefined) setBlackholeForNewSockets(value);
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
    case "arrivals":
      if (!opts.recordArrivals) throw new Error("arrivals are kept only with --record-arrivals");
      return { at_us: arrivals };
    case "close":
      return { exit: true };
    default:
      throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`);
  }
}

// `exit(code)` ends the server (the `close` command).
function onCommandLine(line, exit) {
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
    exit(0);
    return;
  }
  report({ ...base, ok: true, ...result });
}

module.exports = { onCommandLine };
