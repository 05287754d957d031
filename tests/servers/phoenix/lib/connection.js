// A WebSocket connection (a Phoenix socket): its idle timeout, blackholes, sends and closes, and
// the registry of open connections.
"use strict";

const crypto = require("crypto");
const { performance } = require("perf_hooks");
const { opts } = require("./options");
const { report, log } = require("./output");
const { endChannel } = require("./channel");

const PHOENIX_PATH = "/socket/websocket";
const REALTIME_PATH = "/realtime/v1/websocket";

const conns = new Map(); // id -> Conn
let nextConnId = 1;
let blackholeAll = null; // mode applied to connections that open while it is set
// With --record-arrivals: the epoch µs at which each socket was accepted, in order (the
// benchmarks' reconnect herd; kept rather than reported so the server prints nothing per socket).
const arrivals = [];

class Conn {
  constructor(ws, path, params, protocol) {
    if (opts.recordArrivals) arrivals.push(Math.round((performance.timeOrigin + performance.now()) * 1000));
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

// The blackhole mode of connections that open from now on (the `blackhole` command without
// `socket`).
function setBlackholeForNewSockets(mode) {
  blackholeAll = mode;
}

module.exports = { PHOENIX_PATH, REALTIME_PATH, Conn, conns, setBlackholeForNewSockets, arrivals };
