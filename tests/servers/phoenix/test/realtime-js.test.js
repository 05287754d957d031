// The official Supabase client (`@supabase/realtime-js`, CommonJS build, `ws` as its transport)
// against server.js's `realtime:*` topics. realtime-js declares Node >= 22 in its package.json;
// with an explicit `transport` it runs on Node 20 (it only needs the WebSocket constructor).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const WebSocket = require("ws");
const { RealtimeClient } = require("@supabase/realtime-js");
const { withServer, RawSocket, waitFor, jwt } = require("../testkit");

function client(server, apikey = "anon-key") {
  const c = new RealtimeClient(`ws://127.0.0.1:${server.port}/realtime/v1`, {
    transport: WebSocket,
    params: { apikey },
    reconnectAfterMs: () => 100,
    timeout: 10000,
  });
  server.cleanups.push(() => c.disconnect());
  return c;
}

function subscribed(channel) {
  const statuses = [];
  const p = new Promise((resolve, reject) => {
    channel.subscribe((status, err) => {
      statuses.push({ status, err: err && err.message });
      if (status === "SUBSCRIBED") resolve(statuses);
      else if (statuses.length === 1) reject(new Error(`${status}: ${err && err.message}`));
    });
  });
  return { p, statuses };
}

test("realtime-js: postgres_changes bindings get server ids and INSERT/UPDATE/DELETE payloads", async (t) => {
  const server = await withServer(t);
  const c = client(server);
  const got = { insert: [], update: [], del: [], all: [] };
  const system = [];
  const ch = c.channel("db")
    .on("postgres_changes", { event: "INSERT", schema: "public", table: "todos" }, (p) => got.insert.push(p))
    .on("postgres_changes", { event: "UPDATE", schema: "public", table: "todos", filter: "id=eq.1" }, (p) => got.update.push(p))
    .on("postgres_changes", { event: "DELETE", schema: "public", table: "todos" }, (p) => got.del.push(p))
    .on("postgres_changes", { event: "*", schema: "public" }, (p) => got.all.push(p))
    .on("system", {}, (p) => system.push(p));
  await subscribed(ch).p;
  const join = await server.waitReport((r) => r.event === "join" && r.topic === "realtime:db");
  const ids = join.response.postgres_changes.map((b) => b.id);
  assert.equal(ids.length, 4);
  assert.ok(ids.every((id) => Number.isInteger(id)), "server-assigned numeric ids");
  assert.deepEqual(ch.bindings.postgres_changes.map((b) => b.id), ids, "the client took the server's ids");
  await waitFor(() => system.length === 1, "system message");
  assert.deepEqual(system[0], { channel: "db", extension: "postgres_changes", message: "Subscribed to PostgreSQL", status: "ok" });

  await server.command({ cmd: "postgres_change", type: "INSERT", schema: "public", table: "todos", record: { id: 1, title: "milk", done: false } });
  await server.command({ cmd: "postgres_change", type: "UPDATE", schema: "public", table: "todos", record: { id: 1, title: "milk", done: true }, old_record: { id: 1 } });
  await server.command({ cmd: "postgres_change", type: "UPDATE", schema: "public", table: "todos", record: { id: 2, title: "eggs", done: true }, old_record: { id: 2 } });
  await server.command({ cmd: "postgres_change", type: "DELETE", schema: "public", table: "todos", old_record: { id: 1 } });
  await server.command({ cmd: "postgres_change", type: "INSERT", schema: "public", table: "notes", record: { id: 9 }, commit_timestamp: "2026-01-02T03:04:05.678Z" });
  await server.command({ cmd: "postgres_change", type: "INSERT", schema: "private", table: "todos", record: { id: 10 } });
  await waitFor(() => got.all.length === 5, "five changes on the schema-wide binding");
  assert.equal(got.insert.length, 1);
  assert.equal(got.update.length, 1, "the filtered UPDATE binding only gets id=1");
  assert.equal(got.del.length, 1);
  const ins = got.insert[0];
  assert.equal(ins.eventType, "INSERT");
  assert.deepEqual([ins.schema, ins.table], ["public", "todos"]);
  assert.deepEqual(ins.new, { id: 1, title: "milk", done: false });
  assert.deepEqual(ins.old, {});
  assert.equal(ins.errors, null);
  assert.ok(!Number.isNaN(Date.parse(ins.commit_timestamp)));
  assert.deepEqual(got.update[0].new, { id: 1, title: "milk", done: true });
  assert.deepEqual(got.update[0].old, { id: 1 });
  assert.equal(got.del[0].eventType, "DELETE");
  assert.deepEqual(got.del[0].new, {});
  assert.deepEqual(got.del[0].old, { id: 1 });
  assert.deepEqual(got.all.map((p) => `${p.eventType} ${p.table}`), [
    "INSERT todos", "UPDATE todos", "UPDATE todos", "DELETE todos", "INSERT notes",
  ]);
  assert.equal(got.all[4].commit_timestamp, "2026-01-02T03:04:05.678Z");
});

test("realtime-js: broadcast with ack and self, binary payloads, server broadcasts", async (t) => {
  const server = await withServer(t);
  const ca = client(server);
  const cb = client(server);
  const a = ca.channel("chat", { config: { broadcast: { ack: true, self: true } } });
  const b = cb.channel("chat");
  const gotA = [];
  const gotB = [];
  a.on("broadcast", { event: "*" }, (m) => gotA.push(m));
  b.on("broadcast", { event: "*" }, (m) => gotB.push(m));
  await subscribed(a).p;
  await subscribed(b).p;

  assert.equal(await a.send({ type: "broadcast", event: "msg", payload: { from: "a" } }), "ok");
  // With ack the server replied to the push; it came after the broadcast to a itself (self).
  assert.deepEqual(gotA[0], { type: "broadcast", event: "msg", payload: { from: "a" } });
  await waitFor(() => gotB.length === 1, "b gets a's message");
  assert.deepEqual(gotB[0].payload, { from: "a" });

  assert.equal(await b.send({ type: "broadcast", event: "msg", payload: { from: "b" } }), "ok");
  await waitFor(() => gotA.length === 2, "a gets b's message");
  // b has no self: a's next message reaching b proves b's own did not come back to it.
  await a.send({ type: "broadcast", event: "msg", payload: { from: "a", n: 2 } });
  await waitFor(() => gotB.length === 2, "b gets a's second message");
  assert.deepEqual(gotB.map((m) => m.payload.from), ["a", "a"]);

  const bytes = new Uint8Array([1, 2, 3, 255]);
  assert.equal(await a.send({ type: "broadcast", event: "bin", payload: bytes.buffer }), "ok");
  await waitFor(() => gotB.length === 3, "b gets the binary message");
  assert.equal(gotB[2].event, "bin");
  assert.ok(gotB[2].payload instanceof ArrayBuffer, "a binary payload stays binary (kinds 3 and 4)");
  assert.deepEqual([...new Uint8Array(gotB[2].payload)], [...bytes]);
  const received = await server.waitReport((r) => r.event === "received" && r.payload && r.payload.user_broadcast && r.payload.user_broadcast.event === "bin");
  assert.equal(received.payload.user_broadcast.encoding, "binary");

  await server.command({ cmd: "broadcast", topic: "realtime:chat", event: "broadcast", payload: { type: "broadcast", event: "srv", payload: { n: 1 } } });
  await waitFor(() => gotA.length === 5 && gotB.length === 4, "both get the server's broadcast");
  assert.deepEqual(gotB[3], { type: "broadcast", event: "srv", payload: { n: 1 } });
});

test("realtime-js: presence track, update and untrack with presenceState", async (t) => {
  const server = await withServer(t);
  const ca = client(server);
  const cb = client(server);
  const a = ca.channel("lobby", { config: { presence: { key: "alice" } } });
  const b = cb.channel("lobby", { config: { presence: { key: "bob" } } });
  const joinsSeenByB = [];
  const leavesSeenByB = [];
  let syncA = 0;
  a.on("presence", { event: "sync" }, () => { syncA++; });
  b.on("presence", { event: "sync" }, () => {});
  b.on("presence", { event: "join" }, (p) => joinsSeenByB.push(p));
  b.on("presence", { event: "leave" }, (p) => leavesSeenByB.push(p));
  await subscribed(a).p;
  await subscribed(b).p;
  await waitFor(() => syncA > 0, "a's presence_state");
  assert.deepEqual(a.presenceState(), {});

  assert.equal(await a.track({ status: "online" }), "ok");
  await waitFor(() => b.presenceState().alice, "b sees alice");
  const alice = b.presenceState().alice;
  assert.equal(alice.length, 1);
  assert.equal(alice[0].status, "online");
  assert.match(alice[0].presence_ref, /^[A-Za-z0-9_-]{16}$/);
  assert.equal(await b.track({ status: "away" }), "ok");
  await waitFor(() => a.presenceState().bob && a.presenceState().alice, "a sees both");

  // A second track is an update: one presence, the new payload (phx_ref_prev on the wire).
  assert.equal(await a.track({ status: "busy" }), "ok");
  await waitFor(() => b.presenceState().alice && b.presenceState().alice[0].status === "busy", "b sees the update");
  assert.equal(b.presenceState().alice.length, 1);
  assert.notEqual(b.presenceState().alice[0].presence_ref, alice[0].presence_ref);

  assert.equal(await a.untrack(), "ok");
  await waitFor(() => !b.presenceState().alice, "alice gone");
  assert.ok(joinsSeenByB.some((j) => j.key === "alice"));
  assert.ok(leavesSeenByB.some((l) => l.key === "alice"));
  const listed = await server.command({ cmd: "presence", topic: "realtime:lobby" });
  assert.deepEqual(Object.keys(listed.state), ["bob"]);
  assert.equal(listed.state.bob.metas[0].status, "away");
});

test("realtime-js: setAuth pushes access_token; an expired token closes the channel with a system error", async (t) => {
  const secret = "test-secret-with-at-least-32-characters!!";
  const server = await withServer(t, ["--jwt-secret", secret]);
  const now = Math.floor(Date.now() / 1000);
  const anon = jwt({ role: "anon", exp: now + 3600 }, secret);

  // The apikey is checked at the upgrade: a token signed with another secret gets 401.
  await assert.rejects(
    RawSocket.connect(server.port, { path: "/realtime/v1/websocket", params: { apikey: jwt({ role: "anon", exp: now + 3600 }, "other") } }),
    (e) => e.status === 401 && JSON.parse(e.body).error === "Failed to validate JWT signature",
  );

  const c = client(server, anon);
  const ch = c.channel("secure");
  const system = [];
  ch.on("system", {}, (p) => system.push(p));
  const sub = subscribed(ch);
  await sub.p;

  const user = jwt({ role: "authenticated", sub: "u1", exp: now + 3600 }, secret);
  await c.setAuth(user);
  const pushed = await server.waitReport((r) => r.event === "received" && r.name === "access_token");
  assert.deepEqual(pushed.payload, { access_token: user });
  assert.equal(ch.state, "joined");

  const expired = jwt({ role: "authenticated", sub: "u1", exp: now - 30 }, secret);
  await c.setAuth(expired);
  await waitFor(() => sub.statuses.some((s) => s.status === "CLOSED"), "channel closed");
  assert.equal(system.length, 1);
  assert.equal(system[0].extension, "system");
  assert.equal(system[0].status, "error");
  assert.match(system[0].message, /^Token has expired \d+ seconds ago$/);
  assert.equal(system[0].channel, "secure");

  // Joining with an expired access token is refused.
  const c2 = client(server, anon);
  await c2.setAuth(expired);
  const ch2 = c2.channel("secure2");
  const sub2 = subscribed(ch2);
  await assert.rejects(sub2.p, /CHANNEL_ERROR: InvalidJWTToken: Token has expired \d+ seconds ago/);
});
