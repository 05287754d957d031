// Replays the frames recorded from a real Phoenix 1.7.24 server (tests/fixtures/phoenix) against
// server.js and compares every answer, in order and byte for byte, except the random presence
// values (phx_ref, online_at), which are checked for shape and consistency instead. Also the
// refusal, close-code and longpoll facts the fixture's README states.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const { ServerProcess, RawSocket, httpGet, waitFor } = require("../testkit");

// The repository's copy of the recording (the same files the Rust codec test reads).
const FIXTURE_DIR = process.env.TETHER_PHOENIX_FIXTURES ||
  path.resolve(__dirname, "..", "..", "..", "fixtures", "phoenix");
const FIXTURE = path.join(FIXTURE_DIR, "frames-1.7.24.txt");

function loadFixture() {
  assert.ok(fs.existsSync(FIXTURE), `fixture not found: ${FIXTURE} (set TETHER_PHOENIX_FIXTURES)`);
  const steps = [];
  for (const line of fs.readFileSync(FIXTURE, "utf8").split("\n")) {
    if (line.startsWith("> ")) steps.push({ dir: "out", text: line.slice(2), json: JSON.parse(line.slice(2)) });
    else if (line.startsWith("< ")) steps.push({ dir: "in", text: line.slice(2), json: JSON.parse(line.slice(2)) });
    else {
      const m = /^# server closed the WebSocket: (\d+)/.exec(line);
      if (m) steps.push({ dir: "close", code: Number(m[1]) });
    }
  }
  return steps;
}

// Replaces phx_ref and online_at in presence payloads by placeholders, after checking them.
// Recorded refs are bound to ours one to one, so the same presence must carry the same ref in its
// presence_diff and presence_state.
function normalize(frame, bindings, side) {
  const [, , , event, payload] = frame;
  if (event !== "presence_diff" && event !== "presence_state") return frame;
  const now = Math.floor(Date.now() / 1000);
  const fixMetas = (byKey) => {
    for (const key of Object.keys(byKey)) {
      for (const meta of byKey[key].metas) {
        assert.equal(typeof meta.phx_ref, "string", "phx_ref is a string");
        assert.match(meta.phx_ref, /^[A-Za-z0-9_-]{16}$/, "phx_ref looks like Phoenix.Tracker's (16 url-safe base64 chars)");
        assert.ok(Number.isInteger(meta.online_at), "online_at is an integer");
        if (side === "ours") assert.ok(Math.abs(meta.online_at - now) < 600, "online_at is the current time in seconds");
        if (!bindings[side].has(meta.phx_ref)) bindings[side].set(meta.phx_ref, `<ref${bindings[side].size}>`);
        meta.phx_ref = bindings[side].get(meta.phx_ref);
        meta.online_at = "<online_at>";
      }
    }
  };
  const copy = JSON.parse(JSON.stringify(frame));
  if (event === "presence_diff") {
    fixMetas(copy[4].joins);
    fixMetas(copy[4].leaves);
  } else {
    fixMetas(copy[4]);
  }
  assert.ok(payload !== null);
  return copy;
}

test("replays frames-1.7.24.txt and gets the recorded answers, in order", async (t) => {
  const steps = loadFixture();
  assert.ok(steps.length > 30, "the fixture has its frames");
  const server = await ServerProcess.start(["--token", "good"]);
  t.after(() => server.stop());
  // The recorded socket connected with token=good and tracked "carol".
  const ws = await RawSocket.connect(server.port, { params: { token: "good" } });
  const bindings = { recorded: new Map(), ours: new Map() };
  let compared = 0;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (step.dir === "out") {
      ws.send(step.json);
    } else if (step.dir === "in") {
      const [joinRef, ref, topic, event, payload] = step.json;
      // The recorded server pushed server_news by itself; here the test asks for it.
      if (event === "server_news" && joinRef === null && ref === null) {
        await server.command({ cmd: "broadcast", topic, event, payload });
      }
      const f = await ws.next(`recorded answer #${i}: ${step.text}`);
      assert.ok(f.text !== undefined, `frame #${i} is a text frame`);
      const ours = normalize(f.json, bindings, "ours");
      const recorded = normalize(step.json, bindings, "recorded");
      assert.equal(JSON.stringify(ours), JSON.stringify(recorded), `frame #${i} (recorded: ${step.text}; ours: ${f.text})`);
      compared++;
    } else {
      // Nothing else is pending before the server closes the socket.
      const extra = await ws.barrier();
      assert.deepEqual(extra, [], "no unrecorded frames");
      await server.command({ cmd: "disconnect" });
      const closed = await ws.closed;
      assert.equal(closed.code, step.code, "close code");
      assert.deepEqual(ws.frames, [], "no frame before the close");
    }
  }
  assert.equal(compared, steps.filter((s) => s.dir === "in").length);
  assert.equal(bindings.recorded.size, bindings.ours.size, "as many distinct presences as recorded");
  const disconnect = await server.waitReport((r) => r.event === "disconnect");
  assert.equal(disconnect.code, 1000);
});

test("a wrong or missing token is refused with HTTP 403 at the upgrade", async (t) => {
  const server = await ServerProcess.start(["--token", "good"]);
  t.after(() => server.stop());
  for (const params of [{ token: "bad" }, {}]) {
    await assert.rejects(RawSocket.connect(server.port, { params }), (e) => e.status === 403 && e.body === "");
  }
  // Reports come over another pipe than the answers: wait for both.
  const refused = await waitFor(() => {
    const r = server.reports.filter((x) => x.event === "refused");
    return r.length === 2 && r;
  }, "two refused reports");
  assert.deepEqual(refused.map((r) => [r.status, r.reason, r.params.token]), [[403, "token", "<redacted>"], [403, "token", undefined]]);
  assert.ok(!server.reports.some((r) => r.event === "connect"), "no socket was accepted");
  const ok = await RawSocket.connect(server.port, { params: { token: "good" } });
  await ok.close();
});

test("a server-side disconnect closes with 1000 and sends no frame", async (t) => {
  const server = await ServerProcess.start();
  t.after(() => server.stop());
  const ws = await RawSocket.connect(server.port);
  ws.send(["1", "1", "room:lobby", "phx_join", {}]);
  await ws.barrier();
  const connect = await server.waitReport((r) => r.event === "connect");
  await server.command({ cmd: "disconnect", socket: connect.socket });
  const closed = await ws.closed;
  assert.equal(closed.code, 1000);
  assert.deepEqual(ws.frames, []);
  const d = await server.waitReport((r) => r.event === "disconnect");
  assert.deepEqual([d.code, d.initiator], [1000, "server"]);
});

test("a socket that sends nothing is closed with 1002 after the heartbeat timeout", async (t) => {
  const server = await ServerProcess.start(["--heartbeat-timeout-ms", "800"]);
  t.after(() => server.stop());
  // Heartbeats keep it open past several timeouts...
  const ws = await RawSocket.connect(server.port);
  const started = Date.now();
  let lastSent = started;
  while (Date.now() - started < 2000) {
    lastSent = Date.now();
    const extra = await ws.barrier();
    assert.deepEqual(extra, []);
    await new Promise((r) => setTimeout(r, 100)); // the interval between heartbeats is the subject here
  }
  // ...and silence closes it.
  const closed = await ws.closed;
  assert.equal(closed.code, 1002);
  assert.ok(Date.now() - lastSent >= 800 - 50, "closed only after the timeout since the last frame");
  assert.deepEqual(ws.frames, [], "no frame before the close");
  const d = await server.waitReport((r) => r.event === "disconnect");
  assert.deepEqual([d.code, d.reason], [1002, "heartbeat_timeout"]);
});

test("longpoll is not enabled (404), like on the recorded server", async (t) => {
  const server = await ServerProcess.start();
  t.after(() => server.stop());
  assert.equal(await httpGet(server.port, "/socket/longpoll?vsn=2.0.0"), 404);
  assert.equal(await httpGet(server.port, "/socket/websocket?vsn=2.0.0"), 400, "a plain GET is a failed upgrade");
  await waitFor(() => server.reports.filter((r) => r.event === "http").length === 2, "http reports");
});
