// The official `phoenix` JavaScript client (npm `phoenix`, CommonJS build) against server.js, with
// `ws` as its WebSocket transport.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const WebSocket = require("ws");
const { Socket, Presence } = require("phoenix");
const { withServer, waitFor } = require("../testkit");

function connect(server, params = {}, extra = {}) {
  const socket = new Socket(`ws://127.0.0.1:${server.port}/socket`, {
    transport: WebSocket,
    params,
    reconnectAfterMs: () => 50,
    rejoinAfterMs: () => 50,
    ...extra,
  });
  const events = { open: 0, close: [], error: [] };
  socket.onOpen(() => { events.open++; });
  socket.onClose((e) => { events.close.push(e && e.code); });
  socket.onError((e) => { events.error.push(e); });
  socket.connect();
  server.cleanups.push(() => socket.disconnect());
  return { socket, events };
}

function joined(channel) {
  return new Promise((resolve, reject) => {
    channel.join()
      .receive("ok", resolve)
      .receive("error", (e) => reject(new Error(`join error ${JSON.stringify(e)}`)))
      .receive("timeout", () => reject(new Error("join timeout")));
  });
}

function reply(push) {
  return new Promise((resolve) => {
    push.receive("ok", (r) => resolve({ status: "ok", r }))
      .receive("error", (r) => resolve({ status: "error", r }))
      .receive("timeout", () => resolve({ status: "timeout" }));
  });
}

test("phoenix.js: a bad token is refused (onError, onClose), a good one connects", async (t) => {
  const server = await withServer(t, ["--token", "good"]);
  const bad = connect(server, { token: "bad" });
  await waitFor(() => bad.events.error.length > 0 && bad.events.close.length > 0, "onError and onClose");
  assert.equal(bad.events.open, 0);
  assert.equal(bad.socket.isConnected(), false);
  assert.equal(bad.events.close[0], 1006, "the client sees an abnormal close");
  // It keeps retrying by itself, and every try is refused at the upgrade.
  await waitFor(() => server.reports.filter((r) => r.event === "refused").length >= 2, "a retry");
  assert.ok(server.reports.filter((r) => r.event === "refused").every((r) => r.status === 403 && r.reason === "token"));
  assert.ok(!server.reports.some((r) => r.event === "connect"));
  bad.socket.disconnect();

  const good = connect(server, { token: "good" });
  await waitFor(() => good.events.open === 1, "onOpen");
  good.socket.disconnect();
});

test("phoenix.js: join, Presence (onSync, list) across sockets and keys", async (t) => {
  const server = await withServer(t);
  const a = connect(server, { user: "alice" });
  const b = connect(server, { user: "bob" });
  const ca = a.socket.channel("room:lobby", { hello: "world" });
  const pa = new Presence(ca);
  const leaves = [];
  pa.onLeave((key, current, left) => leaves.push({ key, left: left.metas.length, remaining: current.metas.length }));
  let syncs = 0;
  pa.onSync(() => { syncs++; });
  assert.deepEqual(await joined(ca), {});
  await waitFor(() => syncs > 0 && pa.list().length === 1, "own presence");
  const own = pa.list((key, p) => ({ key, metas: p.metas }))[0];
  assert.equal(own.key, "alice");
  assert.match(own.metas[0].phx_ref, /^[A-Za-z0-9_-]{16}$/);
  assert.ok(Number.isInteger(own.metas[0].online_at));

  const cb = b.socket.channel("room:lobby", {});
  const pb = new Presence(cb);
  await joined(cb);
  await waitFor(() => pb.list().length === 2 && pa.list().length === 2, "both see both");
  assert.deepEqual(pa.list((k) => k).sort(), ["alice", "bob"]);

  // A second socket for "alice": one key, two metas.
  const a2 = connect(server, { user: "alice" });
  const ca2 = a2.socket.channel("room:lobby", {});
  await joined(ca2);
  await waitFor(() => {
    const alice = pb.list((k, p) => (k === "alice" ? p.metas.length : null)).find((n) => n !== null);
    return alice === 2;
  }, "two metas for alice");

  // bob leaves: the others get the leave.
  await reply(cb.leave());
  await waitFor(() => pa.list().length === 1, "bob gone from alice's list");
  assert.deepEqual(leaves.find((l) => l.key === "bob"), { key: "bob", left: 1, remaining: 0 });
  // the second alice socket drops: one meta left.
  a2.socket.disconnect();
  await waitFor(() => leaves.some((l) => l.key === "alice" && l.remaining === 1), "one alice meta left");
});

test("phoenix.js: ok and error replies, slow replies and timeouts", async (t) => {
  const server = await withServer(t);
  const { socket } = connect(server);
  const ch = socket.channel("room:lobby", {});
  await joined(ch);
  assert.deepEqual(await reply(ch.push("ping", { n: 1 })), { status: "ok", r: { n: 1 } });
  assert.deepEqual(await reply(ch.push("nack", { why: "no" })), { status: "error", r: { why: "no" } });
  assert.deepEqual(await reply(ch.push("slow", { ms: 100 })), { status: "ok", r: { ms: 100 } });
  assert.deepEqual(await reply(ch.push("noreply", {}, 300)), { status: "timeout" });
  await server.waitReport((r) => r.event === "received" && r.name === "noreply");
  // A slow reply after the client's timeout is ignored by it.
  assert.deepEqual(await reply(ch.push("slow", { ms: 600 }, 200)), { status: "timeout" });
  const forbidden = socket.channel("room:forbidden", {});
  const err = await new Promise((resolve) => forbidden.join().receive("error", resolve));
  assert.deepEqual(err, { reason: "unauthorized" });
  forbidden.leave();
});

test("phoenix.js: a channel crash is phx_error (onError) and the client rejoins by itself", async (t) => {
  const server = await withServer(t);
  const { socket } = connect(server);
  const ch = socket.channel("room:crash", {});
  let oks = 0;
  const errors = [];
  ch.onError((reason) => errors.push(reason));
  ch.join().receive("ok", () => { oks++; });
  await waitFor(() => oks === 1, "joined");
  const firstRef = ch.joinRef();
  ch.push("crash", {}, 1000); // no reply: the channel crashes
  await waitFor(() => errors.length === 1, "onError");
  await waitFor(() => oks === 2 && ch.state === "joined", "automatic rejoin");
  assert.notEqual(ch.joinRef(), firstRef, "rejoined with a new join ref");
  const leave = await server.waitReport((r) => r.event === "leave" && r.reason === "crash");
  assert.equal(leave.join_ref, firstRef);
  // The server can crash it too.
  await server.command({ cmd: "crash", topic: "room:crash" });
  await waitFor(() => errors.length === 2 && oks === 3, "second crash and rejoin");
  assert.deepEqual(await reply(ch.push("ping", { after: "crash" })), { status: "ok", r: { after: "crash" } });
});

test("phoenix.js: phx_close on a server stop (onClose), no rejoin", async (t) => {
  const server = await withServer(t);
  const { socket } = connect(server);
  const ch = socket.channel("room:close", {});
  let closes = 0;
  ch.onClose(() => { closes++; });
  await joined(ch);
  ch.push("close_me", {}, 1000); // no reply: the channel stops
  await waitFor(() => closes === 1 && ch.state === "closed", "onClose");
  const other = socket.channel("room:lobby", {});
  let otherCloses = 0;
  other.onClose(() => { otherCloses++; });
  await joined(other);
  await server.command({ cmd: "stop", topic: "room:lobby" });
  await waitFor(() => otherCloses === 1 && other.state === "closed", "onClose after the stop command");
  // Closed channels are not rejoined: the server saw exactly one join per topic.
  const barrier = socket.channel("room:barrier", {});
  await joined(barrier);
  await server.waitReport((r) => r.event === "join" && r.topic === "room:barrier");
  const joins = server.reports.filter((r) => r.event === "join");
  assert.deepEqual(joins.map((r) => r.topic), ["room:close", "room:lobby", "room:barrier"]);
});

test("phoenix.js: heartbeats round trip", async (t) => {
  const server = await withServer(t, ["--heartbeat-timeout-ms", "1000"]);
  const { socket, events } = connect(server, {}, { heartbeatIntervalMs: 100 });
  const replies = [];
  socket.onMessage((m) => {
    if (m.topic === "phoenix" && m.event === "phx_reply") replies.push(m);
  });
  await waitFor(() => replies.length >= 3, "three heartbeat replies");
  assert.deepEqual(replies[0].payload, { status: "ok", response: {} });
  assert.equal(replies[0].join_ref, null);
  await server.waitReport((r) => r.event === "heartbeat" && r.ref === replies[0].ref, "the heartbeat the reply answers");
  const rtt = await new Promise((resolve) => socket.ping(resolve));
  assert.ok(rtt >= 0);
  // The heartbeats keep the socket open well past the server's 1 s idle timeout.
  await waitFor(() => replies.length >= 15, "fifteen heartbeat replies");
  assert.equal(events.close.length, 0);
  assert.equal(events.open, 1);
});

test("phoenix.js: a server-side disconnect (1000) is followed by the client's own reconnect and rejoin", async (t) => {
  const server = await withServer(t);
  const { socket, events } = connect(server);
  const ch = socket.channel("room:lobby", {});
  let oks = 0;
  ch.join().receive("ok", () => { oks++; });
  await waitFor(() => oks === 1, "joined");
  await server.command({ cmd: "disconnect" });
  await waitFor(() => events.close.length === 1, "onClose");
  assert.equal(events.close[0], 1000);
  await waitFor(() => events.open === 2 && oks === 2, "reconnected and rejoined");
  // Reports come over another pipe than the frames: wait for them.
  const connects = await waitFor(() => {
    const c = server.reports.filter((r) => r.event === "connect");
    return c.length === 2 && c;
  }, "two connect reports");
  assert.deepEqual(connects.map((r) => r.socket), ["s1", "s2"]);
  assert.deepEqual(await reply(ch.push("ping", { back: true })), { status: "ok", r: { back: true } });
});

test("phoenix.js: binary pushes, replies, broadcasts and server pushes", async (t) => {
  const server = await withServer(t);
  const { socket } = connect(server);
  const ch = socket.channel("room:bin", {});
  const shouts = [];
  const pushed = [];
  const news = [];
  ch.on("shout", (p) => shouts.push(p));
  ch.on("pushed", (p) => pushed.push(p));
  ch.on("news", (p) => news.push(p));
  await joined(ch);
  const bytes = new Uint8Array([0, 1, 2, 250, 255]);
  const echoed = await reply(ch.push("ping", bytes.buffer));
  assert.equal(echoed.status, "ok");
  assert.ok(echoed.r instanceof ArrayBuffer, "a binary reply (kind 1)");
  assert.deepEqual([...new Uint8Array(echoed.r)], [...bytes]);
  await server.waitReport((r) => r.event === "received" && r.name === "ping" && r.payload.binary === "AAEC+v8=");
  const nack = await reply(ch.push("nack", new Uint8Array([9]).buffer));
  assert.equal(nack.status, "error");
  assert.deepEqual([...new Uint8Array(nack.r)], [9]);
  const asBinary = await reply(ch.push("echo_binary", { a: 1 }));
  assert.equal(Buffer.from(asBinary.r).toString("utf8"), '{"a":1}');
  ch.push("shout", new Uint8Array([7, 7]).buffer, 1000); // broadcast, no reply
  await waitFor(() => shouts.length === 1, "binary broadcast (kind 2)");
  assert.ok(shouts[0] instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(shouts[0])], [7, 7]);
  ch.push("push_me", new Uint8Array([5]).buffer, 1000); // push, no reply
  await waitFor(() => pushed.length === 1, "binary push (kind 0)");
  assert.deepEqual([...new Uint8Array(pushed[0])], [5]);
  await server.command({ cmd: "broadcast", topic: "room:bin", event: "news", base64: Buffer.from("hi").toString("base64") });
  await server.command({ cmd: "push", topic: "room:bin", event: "news", payload: { json: true } });
  await waitFor(() => news.length === 2, "server broadcast and push");
  assert.equal(Buffer.from(news[0]).toString(), "hi");
  assert.deepEqual(news[1], { json: true });
});
