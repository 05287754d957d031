// Raw-frame checks of server.js: the v2 binary layouts, Phoenix's socket-level rules (duplicate
// joins, unmatched topics, blocking joins), presence semantics, Supabase-shaped topics, the
// test-only knobs, and the process contract (flags, stdin, signals).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("child_process");
const path = require("path");
const { ServerProcess, RawSocket, waitFor, binaryPush, userBroadcastPush, jwt } = require("../testkit");

const SERVER = path.join(__dirname, "..", "server.js");

async function joinRoom(ws, topic, joinRef, payload = {}) {
  ws.send([joinRef, joinRef, topic, "phx_join", payload]);
  const reply = await ws.nextJson(`join reply ${topic}`);
  assert.deepEqual(reply, [joinRef, joinRef, topic, "phx_reply", { response: {}, status: "ok" }]);
  const diff = await ws.nextJson("own presence_diff");
  assert.equal(diff[3], "presence_diff");
  const state = await ws.nextJson("presence_state");
  assert.deepEqual(state.slice(0, 4), [joinRef, null, topic, "presence_state"]);
  return { diff: diff[4], state: state[4] };
}

function metasOf(byKey, key) {
  return byKey[key] ? byKey[key].metas : [];
}

test("binary frames: kind 1 reply, kind 2 broadcast and kind 0 push, byte for byte", async (t) => {
  const server = await ServerProcess.start();
  t.after(() => server.stop());
  const ws = await RawSocket.connect(server.port);
  await joinRoom(ws, "room:bin", "1");
  const data = Buffer.from([1, 2, 3]);
  ws.sendBinary(binaryPush("1", "2", "room:bin", "ping", data));
  const reply = await ws.next("binary reply");
  assert.deepEqual(reply.binary, Buffer.concat([Buffer.from([1, 1, 1, 8, 2]), Buffer.from("12room:binok"), data]));
  ws.sendBinary(binaryPush("1", "3", "room:bin", "shout", data));
  const bc = await ws.next("binary broadcast");
  assert.deepEqual(bc.binary, Buffer.concat([Buffer.from([2, 8, 5]), Buffer.from("room:binshout"), data]));
  ws.sendBinary(binaryPush("1", "4", "room:bin", "push_me", data));
  const push = await ws.next("binary push");
  assert.deepEqual(push.binary, Buffer.concat([Buffer.from([0, 1, 8, 6]), Buffer.from("1room:binpushed"), data]));
  ws.sendBinary(binaryPush("1", "5", "room:bin", "nack", Buffer.alloc(0)));
  const nack = await ws.next("empty binary error reply");
  assert.deepEqual(nack.binary, Buffer.concat([Buffer.from([1, 1, 1, 8, 5]), Buffer.from("15room:binerror")]));
  await server.command({ cmd: "push", topic: "room:bin", event: "blob", base64: "/w==" });
  const cmdPush = await ws.next("command push");
  assert.deepEqual(cmdPush.binary, Buffer.concat([Buffer.from([0, 1, 8, 4]), Buffer.from("1room:binblob"), Buffer.from([255])]));
  const received = await server.waitReport((r) => r.event === "received" && r.name === "ping");
  assert.deepEqual(received.payload, { binary: "AQID" });
});

test("a duplicate join closes the old channel: reply, then phx_close of the old join ref", async (t) => {
  const server = await ServerProcess.start();
  t.after(() => server.stop());
  const a = await RawSocket.connect(server.port, { params: { user: "carol" } });
  const b = await RawSocket.connect(server.port, { params: { user: "dave" } });
  const first = await joinRoom(a, "room:lobby", "1");
  const oldRef = metasOf(first.state, "carol")[0].phx_ref;
  await joinRoom(b, "room:lobby", "1");
  assert.equal((await a.nextJson("dave's join diff"))[3], "presence_diff");

  a.send(["5", "5", "room:lobby", "phx_join", {}]);
  assert.deepEqual(await a.nextJson("reply"), ["5", "5", "room:lobby", "phx_reply", { response: {}, status: "ok" }]);
  assert.deepEqual(await a.nextJson("old close"), ["1", "1", "room:lobby", "phx_close", {}]);
  const diff = await a.nextJson("new diff");
  assert.equal(diff[3], "presence_diff");
  const state = await a.nextJson("new state");
  assert.deepEqual(state.slice(0, 4), ["5", null, "room:lobby", "presence_state"]);
  assert.deepEqual(Object.keys(state[4]).sort(), ["carol", "dave"]);
  assert.equal(metasOf(state[4], "carol").length, 1);
  assert.notEqual(metasOf(state[4], "carol")[0].phx_ref, oldRef);
  // The other member saw the old presence leave, then the new one join.
  const leave = await b.nextJson("leave diff");
  assert.deepEqual(leave[4].leaves.carol.metas.map((m) => m.phx_ref), [oldRef]);
  const join = await b.nextJson("join diff");
  assert.deepEqual(Object.keys(join[4].joins), ["carol"]);
  const l = await server.waitReport((r) => r.event === "leave" && r.reason === "duplicate_join");
  assert.equal(l.join_ref, "1");
});

test("unmatched topics, leaves without a join, the channel limit", async (t) => {
  const server = await ServerProcess.start(["--max-channels", "2"]);
  t.after(() => server.stop());
  const ws = await RawSocket.connect(server.port);
  ws.send(["1", "2", "room:nojoin", "ping", {}]);
  assert.deepEqual(await ws.nextJson(), [null, "2", "room:nojoin", "phx_reply", { response: { reason: "unmatched topic" }, status: "error" }]);
  ws.send(["3", "3", "nowhere:x", "phx_join", {}]);
  assert.deepEqual(await ws.nextJson(), [null, "3", "nowhere:x", "phx_reply", { response: { reason: "unmatched topic" }, status: "error" }]);
  ws.send(["4", "5", "room:nojoin", "phx_leave", {}]);
  assert.deepEqual(await ws.nextJson(), ["4", "5", "room:nojoin", "phx_reply", { response: {}, status: "ok" }]);
  assert.deepEqual(await ws.barrier(), [], "no phx_close for a topic that was not joined");
  await joinRoom(ws, "room:a", "6");
  await joinRoom(ws, "room:b", "7");
  ws.send(["8", "8", "room:c", "phx_join", {}]);
  assert.deepEqual(await ws.nextJson(), ["8", "8", "room:c", "phx_reply", { response: { reason: "too many channels joined" }, status: "error" }]);
  // A leave with another join ref raced a server close: no answer.
  ws.send(["99", "9", "room:a", "phx_leave", {}]);
  assert.deepEqual(await ws.barrier(), []);
  ws.send(["6", "10", "room:a", "phx_leave", {}]);
  assert.deepEqual(await ws.nextJson(), ["6", "10", "room:a", "phx_reply", { response: {}, status: "ok" }]);
  assert.deepEqual(await ws.nextJson(), ["6", "6", "room:a", "phx_close", {}]);
  ws.send(["11", "11", "room:forbidden", "phx_join", {}]);
  assert.deepEqual(await ws.nextJson(), ["11", "11", "room:forbidden", "phx_reply", { response: { reason: "unauthorized" }, status: "error" }]);
  ws.send(["12", "12", "room:x", "phx_join", { reject: { reason: "nope" } }]);
  assert.deepEqual(await ws.nextJson(), ["12", "12", "room:x", "phx_reply", { response: { reason: "nope" }, status: "error" }]);
});

test("presence: several metas per key, leaves on crash, close, leave and disconnect, phx_ref_prev", async (t) => {
  const server = await ServerProcess.start();
  t.after(() => server.stop());
  const watcher = await RawSocket.connect(server.port, { params: { user: "watcher" } });
  await joinRoom(watcher, "room:p", "1");
  const c1 = await RawSocket.connect(server.port, { params: { user: "carol" } });
  const c2 = await RawSocket.connect(server.port, { params: { user: "carol" } });
  await joinRoom(c1, "room:p", "1");
  const second = await joinRoom(c2, "room:p", "1");
  assert.equal(metasOf(second.state, "carol").length, 2, "one key, two metas");
  const joins = [await watcher.nextJson(), await watcher.nextJson()];
  const [ref1, ref2] = joins.map((f) => f[4].joins.carol.metas[0].phx_ref);
  assert.notEqual(ref1, ref2);
  assert.equal((await c1.barrier()).length, 1, "c1 saw c2's join diff");

  // An update: joins carry the new meta with phx_ref_prev, leaves the old meta.
  c1.send(["1", "2", "room:p", "presence_update", { status: "away" }]);
  assert.deepEqual((await c1.nextJson())[4], { response: {}, status: "ok" });
  const upd = await watcher.nextJson("update diff");
  const newMeta = upd[4].joins.carol.metas[0];
  assert.equal(newMeta.status, "away");
  assert.equal(newMeta.phx_ref_prev, ref1);
  assert.notEqual(newMeta.phx_ref, ref1);
  assert.deepEqual(upd[4].leaves.carol.metas.map((m) => m.phx_ref), [ref1]);

  // A crash: phx_error to the socket, a leave diff to the others.
  c1.send(["1", "3", "room:p", "crash", {}]);
  const frames1 = await c1.barrier();
  assert.deepEqual(frames1.find((f) => f.json[3] === "phx_error").json, ["1", "1", "room:p", "phx_error", {}]);
  const crashLeave = await watcher.nextJson("crash leave");
  assert.deepEqual(crashLeave[4], { joins: {}, leaves: { carol: { metas: [newMeta] } } });

  // A disconnect of the other carol socket.
  await c2.close(1000);
  const dcLeave = await watcher.nextJson("disconnect leave");
  assert.deepEqual(dcLeave[4].leaves.carol.metas.map((m) => m.phx_ref), [ref2]);

  // Server-side presences.
  const tracked = await server.command({ cmd: "track", topic: "room:p", key: "bot", meta: { kind: "bot" } });
  const botJoin = await watcher.nextJson("bot join");
  assert.deepEqual(botJoin[4].joins.bot.metas, [{ kind: "bot", phx_ref: tracked.phx_ref }]);
  const updated = await server.command({ cmd: "presence_update", topic: "room:p", key: "bot", meta: { kind: "robot" } });
  const botUpd = await watcher.nextJson("bot update");
  assert.deepEqual(botUpd[4].joins.bot.metas, [{ kind: "robot", phx_ref: updated.phx_refs[0], phx_ref_prev: tracked.phx_ref }]);
  const listed = await server.command({ cmd: "presence", topic: "room:p" });
  assert.deepEqual(Object.keys(listed.state).sort(), ["bot", "watcher"]);
  await server.command({ cmd: "untrack", topic: "room:p", key: "bot" });
  const botLeave = await watcher.nextJson("bot leave");
  assert.deepEqual(Object.keys(botLeave[4].leaves), ["bot"]);
  // A new socket sees the remaining state only.
  const late = await RawSocket.connect(server.port, { params: { user: "late" } });
  const lateJoin = await joinRoom(late, "room:p", "1");
  assert.deepEqual(Object.keys(lateJoin.state).sort(), ["late", "watcher"]);
});

test("a delayed join blocks the socket like Phoenix's synchronous join; slow replies do not", async (t) => {
  const server = await ServerProcess.start();
  t.after(() => server.stop());
  const ws = await RawSocket.connect(server.port);
  ws.send(["1", "1", "room:lobby", "phx_join", { join_delay_ms: 300 }]);
  ws.send([null, "2", "phoenix", "heartbeat", {}]);
  const first = await ws.nextJson();
  assert.deepEqual(first.slice(1, 4), ["1", "room:lobby", "phx_reply"], "the join reply comes before the heartbeat's");
  const rest = [await ws.nextJson(), await ws.nextJson(), await ws.nextJson()];
  assert.deepEqual(rest.map((f) => f[3]), ["presence_diff", "presence_state", "phx_reply"]);
  assert.equal(rest[2][2], "phoenix");
  ws.send(["1", "3", "room:lobby", "slow", { ms: 300 }]);
  ws.send(["1", "4", "room:lobby", "ping", {}]);
  assert.equal((await ws.nextJson())[1], "4", "ping answered first");
  assert.deepEqual(await ws.nextJson(), ["1", "3", "room:lobby", "phx_reply", { response: { ms: 300 }, status: "ok" }]);
});

test("blackhole: heartbeats only, then everything (and the idle timeout closes with 1002)", async (t) => {
  const server = await ServerProcess.start(["--heartbeat-timeout-ms", "1500"]);
  t.after(() => server.stop());
  const ws = await RawSocket.connect(server.port);
  await joinRoom(ws, "room:lobby", "1");
  await server.command({ cmd: "blackhole", mode: "heartbeats" });
  ws.send([null, "2", "phoenix", "heartbeat", {}]);
  ws.send(["1", "3", "room:lobby", "ping", { x: 1 }]);
  assert.deepEqual(await ws.nextJson(), ["1", "3", "room:lobby", "phx_reply", { response: { x: 1 }, status: "ok" }]);
  await server.waitReport((r) => r.event === "heartbeat" && r.ref === "2");
  await server.command({ cmd: "blackhole", on: false });
  assert.deepEqual(await ws.barrier(), [], "the muted heartbeat stayed unanswered");
  await server.command({ cmd: "blackhole" });
  ws.send(["1", "4", "room:lobby", "ping", {}]);
  const closed = await ws.closed;
  assert.equal(closed.code, 1002, "frames dropped by the blackhole do not count as activity");
  assert.deepEqual(ws.frames, []);
});

test("oversized and undecodable frames close the socket (1009, 1011)", async (t) => {
  const server = await ServerProcess.start(["--max-frame-bytes", "1000"]);
  t.after(() => server.stop());
  const big = await RawSocket.connect(server.port);
  big.send(["1", "1", "room:lobby", "phx_join", { pad: "x".repeat(2000) }]);
  assert.equal((await big.closed).code, 1009);
  const bad = await RawSocket.connect(server.port);
  bad.ws.send("{not json");
  assert.equal((await bad.closed).code, 1011);
  await server.waitReport((r) => r.event === "bad_frame");
  const kind = await RawSocket.connect(server.port);
  kind.sendBinary(Buffer.from([9, 0, 0]));
  assert.equal((await kind.closed).code, 1011);
});

test("connect rules: vsn, the phoenix subprotocol with a bearer token, paths", async (t) => {
  const server = await ServerProcess.start(["--token", "good"]);
  t.after(() => server.stop());
  await assert.rejects(RawSocket.connect(server.port, { params: { token: "good", vsn: "1.0.0" } }), (e) => e.status === 403);
  await assert.rejects(RawSocket.connect(server.port, { path: "/other/websocket", params: { token: "good" } }), (e) => e.status === 404);
  const bearer = `base64url.bearer.phx.${Buffer.from("good").toString("base64").replace(/=/g, "")}`;
  const ws = await RawSocket.connect(server.port, { protocols: ["phoenix", bearer] });
  assert.equal(ws.ws.protocol, "phoenix");
  const c = await server.waitReport((r) => r.event === "connect");
  assert.equal(c.protocol, "phoenix");
  assert.equal(c.user, "carol");
});

test("realtime: join reply ids, system message, text and user broadcasts, presence_state", async (t) => {
  const server = await ServerProcess.start();
  t.after(() => server.stop());
  const a = await RawSocket.connect(server.port, { path: "/realtime/v1/websocket", params: { apikey: "k" } });
  const b = await RawSocket.connect(server.port, { path: "/realtime/v1/websocket", params: { apikey: "k" } });
  const bindings = [{ event: "INSERT", schema: "public", table: "t" }, { event: "*", schema: "public", table: "t", filter: "id=eq.1" }];
  const config = (extra) => ({ config: { broadcast: { ack: false, self: false }, presence: { key: "", enabled: true }, postgres_changes: bindings, private: false, ...extra } });
  a.send(["1", "1", "realtime:r", "phx_join", config({ broadcast: { ack: true, self: true } })]);
  const ra = await a.nextJson();
  assert.equal(ra[4].status, "ok");
  const ids = ra[4].response.postgres_changes.map((x) => x.id);
  assert.deepEqual(ra[4].response.postgres_changes.map(({ id, ...rest }) => rest), bindings);
  assert.deepEqual(await a.nextJson(), ["1", null, "realtime:r", "system", { channel: "r", extension: "postgres_changes", message: "Subscribed to PostgreSQL", status: "ok" }]);
  assert.deepEqual(await a.nextJson(), ["1", null, "realtime:r", "presence_state", {}]);
  b.send(["1", "1", "realtime:r", "phx_join", config({})]);
  const rb = await b.nextJson();
  assert.deepEqual(rb[4].response.postgres_changes.map((x) => x.id), ids, "the same params get the same ids");
  await b.nextJson();
  await b.nextJson();

  // Text broadcast, ack and self on a.
  a.send(["1", "2", "realtime:r", "broadcast", { type: "broadcast", event: "e", payload: { n: 1 } }]);
  const gotA = [await a.nextJson(), await a.nextJson()];
  assert.deepEqual(gotA[0], [null, null, "realtime:r", "broadcast", { type: "broadcast", event: "e", payload: { n: 1 } }]);
  assert.deepEqual(gotA[1], ["1", "2", "realtime:r", "phx_reply", { response: {}, status: "ok" }]);
  assert.deepEqual(await b.nextJson(), gotA[0]);
  // b: no ack, no self.
  b.send(["1", "2", "realtime:r", "broadcast", { type: "broadcast", event: "e", payload: { n: 2 } }]);
  assert.deepEqual((await a.nextJson())[4].payload, { n: 2 });
  assert.deepEqual(await b.barrier(), []);
  // User broadcast push (kind 3) fans out as kind 4, JSON encoding kept, metadata dropped.
  const json = Buffer.from('{"n":3}');
  b.sendBinary(userBroadcastPush("1", "3", "realtime:r", "ue", json, 1, '{"persist":true}'));
  const ub = await a.next("user broadcast");
  assert.deepEqual(ub.binary, Buffer.concat([Buffer.from([4, 10, 2, 0, 1]), Buffer.from("realtime:rue"), json]));
  assert.deepEqual(await b.barrier(), [], "no self");

  // Presence track: a diff to both; the key defaulted to a UUID.
  b.send(["1", "4", "realtime:r", "presence", { type: "presence", event: "track", payload: { s: 1 } }]);
  assert.deepEqual(await b.nextJson(), ["1", "4", "realtime:r", "phx_reply", { response: {}, status: "ok" }]);
  const diffB = await b.nextJson();
  assert.equal(diffB[3], "presence_diff");
  const [key] = Object.keys(diffB[4].joins);
  assert.match(key, /^[0-9a-f-]{36}$/);
  const diffA = await a.nextJson();
  assert.deepEqual(diffA, diffB);
  // Tracking again with a new payload updates (phx_ref_prev); the same payload is a no-op.
  b.send(["1", "5", "realtime:r", "presence", { type: "presence", event: "track", payload: { s: 2 } }]);
  const upd = await a.nextJson();
  assert.equal(upd[4].joins[key].metas[0].phx_ref_prev, diffB[4].joins[key].metas[0].phx_ref);
  assert.deepEqual(upd[4].leaves[key].metas, diffB[4].joins[key].metas);
  b.send(["1", "6", "realtime:r", "presence", { type: "presence", event: "track", payload: { s: 2 } }]);
  await b.nextJson(); // reply 5
  await b.nextJson(); // update diff
  assert.deepEqual(await b.nextJson(), ["1", "6", "realtime:r", "phx_reply", { response: {}, status: "ok" }]);
  assert.deepEqual(await a.barrier(), []);
  b.send(["1", "7", "realtime:r", "presence", { type: "presence", event: "dance" }]);
  assert.deepEqual(await b.nextJson(), ["1", "7", "realtime:r", "phx_reply", { response: {}, status: "error" }]);

  // Private and public channels of one topic do not share broadcasts.
  const p = await RawSocket.connect(server.port, { path: "/realtime/v1/websocket", params: { apikey: "k" } });
  p.send(["1", "1", "realtime:r", "phx_join", { config: { private: true } }]);
  assert.equal((await p.nextJson())[4].status, "ok");
  a.send(["1", "8", "realtime:r", "broadcast", { type: "broadcast", event: "e", payload: {} }]);
  await a.nextJson();
  await a.nextJson();
  assert.deepEqual(await p.barrier(), []);
  p.send(["2", "2", "realtime:forbidden-x", "phx_join", { config: { private: true } }]);
  assert.deepEqual((await p.nextJson())[4], { response: { reason: "Unauthorized: You do not have permissions to read from this Channel topic: forbidden-x" }, status: "error" });
  p.send(["3", "3", "realtime:", "phx_join", {}]);
  assert.deepEqual((await p.nextJson())[4], { response: { reason: "TopicNameRequired: You must provide a topic name" }, status: "error" });

  // postgres_changes: ids of the matching bindings only.
  await server.command({ cmd: "postgres_change", type: "INSERT", schema: "public", table: "t", record: { id: 2 } });
  const pg = await a.nextJson();
  assert.deepEqual(pg.slice(0, 4), [null, null, "realtime:r", "postgres_changes"]);
  assert.deepEqual(pg[4].ids, [ids[0]]);
  assert.deepEqual(pg[4].data.columns, [{ name: "id", type: "int8" }]);
  assert.deepEqual(Object.keys(pg[4].data), ["columns", "commit_timestamp", "errors", "record", "schema", "table", "type"]);
  await server.command({ cmd: "postgres_change", type: "INSERT", schema: "public", table: "t", record: { id: 1 } });
  assert.deepEqual((await a.nextJson())[4].ids.sort(), [...ids].sort());
});

test("realtime: token checks at join, on access_token and at expiry; the presence rate limit", async (t) => {
  const secret = "another-test-secret-at-least-32-chars";
  const server = await ServerProcess.start(["--jwt-secret", secret, "--presence-rate-limit", "2"]);
  t.after(() => server.stop());
  const now = Math.floor(Date.now() / 1000);
  const anon = jwt({ role: "anon", exp: now + 3600 }, secret);
  await assert.rejects(
    RawSocket.connect(server.port, { path: "/realtime/v1/websocket", params: {} }),
    (e) => e.status === 401 && JSON.parse(e.body).error === "API key is missing",
  );
  const ws = await RawSocket.connect(server.port, { path: "/realtime/v1/websocket", params: { apikey: anon } });
  let lastJoinRef = null;
  const joinWith = async (topic, token) => {
    const ref = ws.makeRef();
    lastJoinRef = ref;
    ws.send([ref, ref, topic, "phx_join", { config: {}, access_token: token }]);
    return (await ws.nextJson(`join ${topic}`))[4];
  };
  assert.deepEqual(await joinWith("realtime:a", "not-a-jwt"), { response: { reason: "MalformedJWT: The token provided is not a valid JWT" }, status: "error" });
  assert.deepEqual(await joinWith("realtime:a", jwt({ exp: now + 60 }, secret)), { response: { reason: "InvalidJWTToken: Fields `role` and `exp` are required in JWT" }, status: "error" });
  assert.deepEqual(await joinWith("realtime:a", jwt({ role: "anon", exp: now + 60 }, "wrong")), { response: { reason: "JwtSignatureError: Failed to validate JWT signature" }, status: "error" });
  assert.equal((await joinWith("realtime:a", anon)).status, "ok");

  // A bad refresh: system error, then phx_close.
  const a = lastJoinRef;
  ws.send([a, "9", "realtime:a", "access_token", { access_token: jwt({ role: "anon", exp: now + 60 }, "wrong") }]);
  assert.deepEqual(await ws.nextJson(), [a, null, "realtime:a", "system", { channel: "a", extension: "system", message: ":signature_error", status: "error" }]);
  assert.deepEqual(await ws.nextJson(), [a, a, "realtime:a", "phx_close", {}]);

  // A token that runs out while joined: the channel is shut down at its expiry.
  const short = jwt({ role: "anon", exp: Math.floor(Date.now() / 1000) + 3 }, secret);
  const before = Date.now();
  assert.equal((await joinWith("realtime:b", short)).status, "ok");
  const sys = await ws.nextJson("expiry");
  assert.equal(sys[3], "system");
  assert.match(sys[4].message, /^Token has expired \d+ seconds ago$/);
  assert.ok(Date.now() - before >= 500, "not before the expiry");
  assert.equal((await ws.nextJson())[3], "phx_close");

  // Client presence rate limit (2 here; 5 per 30 s by default).
  assert.equal((await joinWith("realtime:c", anon)).status, "ok");
  const c = lastJoinRef;
  assert.equal(ws.frames.length, 0, "nothing pending");
  for (const n of [1, 2]) {
    ws.send([c, `p${n}`, "realtime:c", "presence", { type: "presence", event: "track", payload: { n } }]);
  }
  const frames = [];
  for (let i = 0; i < 4; i++) frames.push(await ws.nextJson());
  assert.deepEqual(frames.map((f) => f[3]), ["phx_reply", "presence_diff", "phx_reply", "presence_diff"]);
  ws.send([c, "p3", "realtime:c", "presence", { type: "presence", event: "untrack" }]);
  assert.deepEqual((await ws.nextJson())[4], { channel: "c", extension: "system", message: "Client presence rate limit exceeded", status: "error" });
  assert.deepEqual(await ws.nextJson(), [c, c, "realtime:c", "phx_close", {}]);
});

test("process: unknown flag exits 2, stdin EOF exits 0, SIGTERM exits promptly", async () => {
  const run = (args, { closeStdin } = {}) => {
    const child = spawn(process.execPath, [SERVER, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    if (closeStdin) child.stdin.end();
    return { child, exited, out: () => out };
  };
  assert.equal((await run(["--nope"]).exited).code, 2);
  assert.equal((await run(["--port", "x"]).exited).code, 2);
  const eof = run(["--port", "0"], { closeStdin: true });
  assert.equal((await eof.exited).code, 0);
  const keep = run(["--port", "0", "--ignore-stdin-eof"], { closeStdin: true });
  await waitFor(() => keep.out().includes("listening"), "listening");
  const started = Date.now();
  process.kill(keep.child.pid, "SIGTERM");
  const r = await keep.exited;
  assert.ok(r.code === 0 || r.signal === "SIGTERM");
  assert.ok(Date.now() - started < 5000);
  const closeCmd = run(["--port", "0"]);
  await waitFor(() => closeCmd.out().includes("listening"), "listening");
  closeCmd.child.stdin.write('{"cmd":"close","id":7}\n');
  assert.equal((await closeCmd.exited).code, 0);
  assert.match(closeCmd.out(), /"event":"done","cmd":"close","id":7,"ok":true/);
});

test("process: --quiet prints only listening (with at_us) and done, whatever the traffic", async (t) => {
  const server = await ServerProcess.start(["--quiet"]);
  t.after(() => server.stop());
  assert.ok(Number.isInteger(server.reports[0].at_us), "listening carries at_us");
  const ws = await RawSocket.connect(server.port);
  ws.send(["1", "1", "room:quiet", "phx_join", {}]);
  assert.deepEqual(await ws.nextJson("join reply"), ["1", "1", "room:quiet", "phx_reply", { response: {}, status: "ok" }]);
  ws.send([null, "2", "phoenix", "heartbeat", {}]);
  ws.send(["1", "3", "room:quiet", "ping", { n: 1 }]);
  await waitFor(async () => {
    const frame = await ws.nextJson("ping reply");
    return frame[1] === "3";
  }, "ping reply");
  const sockets = await server.command({ cmd: "sockets" });
  assert.equal(sockets.sockets.length, 1);
  assert.deepEqual(server.reports.map((r) => r.event), ["listening", "done"]);
});

test("process: --record-arrivals keeps each accepted socket's time for the arrivals command", async (t) => {
  const server = await ServerProcess.start(["--quiet", "--record-arrivals"]);
  t.after(() => server.stop());
  const listening = server.reports[0].at_us;
  assert.deepEqual((await server.command({ cmd: "arrivals" })).at_us, []);
  const first = await RawSocket.connect(server.port);
  const second = await RawSocket.connect(server.port);
  t.after(() => { first.close(); second.close(); });
  const { at_us: atUs } = await server.command({ cmd: "arrivals" });
  assert.equal(atUs.length, 2);
  assert.ok(atUs.every(Number.isInteger), JSON.stringify(atUs));
  assert.ok(listening <= atUs[0] && atUs[0] <= atUs[1], JSON.stringify({ listening, atUs }));
  const plain = await ServerProcess.start(["--quiet"]);
  t.after(() => plain.stop());
  await assert.rejects(plain.command({ cmd: "arrivals" }), /--record-arrivals/);
});
