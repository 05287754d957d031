#!/usr/bin/env node
// Runs a test server for Swift tests that cannot start processes on the host themselves: they
// run in a chroot (see ../run-tests.sh), which shares the host's network and a folder, but not
// its processes or its Node. The server is the Socket.IO one (tests/servers/node/server.js) or,
// with `--server phoenix`, the Phoenix Channels one (tests/servers/phoenix/server.js); both
// print a `listening` report with their port first, one JSON report per stdout line, and take
// one JSON command per stdin line (their READMEs).
//
//   node swift/scripts/test-server.js [--server node|phoenix] --control DIR [-- SERVER-FLAGS...]
//
// Files in DIR (a folder both sides see):
//   url        written once the server listens: "http://127.0.0.1:PORT" (written atomically)
//   commands   the tests APPEND one JSON command per line (this process tails the file)
//   reports    every stdout line of the server (see tests/servers/node/README.md), plus this
//              process's own reports; one JSON object per line
//   server.log the server's stderr
//
// Commands: anything the server understands is forwarded to its stdin (it answers with a
// `done` report echoing the command's "id"). Two more are handled here, for restart tests:
//   {"cmd":"server-stop","id":"x"}   close the server's stdin, wait for it to exit
//                                    (SIGKILL after 5 s), then report
//                                    {"event":"done","cmd":"server-stop","id":"x","ok":true}
//   {"cmd":"server-start","id":"x"}  start it again with the same flags on the same port; once
//                                    it listens: {"event":"done","cmd":"server-start","id":"x","ok":true}
// A command forwarded while the server is stopped is answered with "ok":false.
//
// Lifetime: exits, stopping the server, on SIGTERM, SIGINT, or when its own stdin closes (so
// it never outlives the script that started it, even one killed with SIGKILL).
"use strict";

const fs = require("fs");
const path = require("path");
const { spawn } = require("child_process");

const SERVERS = {
  node: path.resolve(__dirname, "../../tests/servers/node/server.js"),
  phoenix: path.resolve(__dirname, "../../tests/servers/phoenix/server.js"),
};

function usage(message) {
  process.stderr.write(`test-server.js: ${message}\nusage: node test-server.js [--server node|phoenix] --control DIR [-- SERVER-FLAGS...]\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let controlDir = null;
let serverName = "node";
let serverFlags = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--control") controlDir = argv[++i];
  else if (argv[i] === "--server") serverName = argv[++i];
  else if (argv[i] === "--") { serverFlags = argv.slice(i + 1); break; }
  else usage(`unknown argument ${argv[i]}`);
}
if (!controlDir) usage("--control is required");
if (!Object.hasOwn(SERVERS, serverName)) usage(`unknown server ${serverName}`);
const SERVER_JS = SERVERS[serverName];
if (serverFlags.includes("--port")) usage("the port is chosen here; do not pass --port");

fs.mkdirSync(controlDir, { recursive: true });
const file = (name) => path.join(controlDir, name);
fs.writeFileSync(file("commands"), "");
fs.writeFileSync(file("reports"), "");
fs.rmSync(file("url"), { force: true });
const reports = fs.createWriteStream(file("reports"), { flags: "a" });
const serverLog = fs.createWriteStream(file("server.log"), { flags: "a" });

function report(obj) {
  reports.write(`${JSON.stringify(obj)}\n`);
}

function log(message) {
  process.stderr.write(`[test-server.js] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// The server child

let server = null; // { child, exited: Promise }
let port = 0;

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_JS, "--port", String(port), ...serverFlags], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const exited = new Promise((done) => child.once("exit", (code, signal) => done({ code, signal })));
    const current = { child, exited };
    server = current;
    let pending = "";
    let listening = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim() === "") continue;
        reports.write(`${line}\n`);
        if (!listening && line.includes('"listening"')) {
          try {
            const parsed = JSON.parse(line);
            if (parsed.event === "listening") {
              listening = true;
              port = parsed.port;
              resolve(port);
            }
          } catch (_) {
            /* not a report */
          }
        }
      }
    });
    child.stderr.pipe(serverLog, { end: false });
    child.stdin.on("error", () => {}); // it may exit before reading everything
    exited.then(({ code, signal }) => {
      if (server === current) server = null;
      if (!listening) reject(new Error(`server exited before listening (code ${code}, signal ${signal}); see ${file("server.log")}`));
      else if (!current.stopping) report({ event: "server-exited", code, signal });
    });
  });
}

async function stopServer() {
  const current = server;
  if (!current) return;
  current.stopping = true;
  current.child.stdin.end(); // both servers' contract: stdin EOF -> close -> exit
  const timer = setTimeout(() => current.child.kill("SIGKILL"), 5000);
  await current.exited;
  clearTimeout(timer);
  if (server === current) server = null;
}

// ---------------------------------------------------------------------------------------------
// Commands, tailed from the commands file

let offset = 0;
let partial = "";
let chain = Promise.resolve();

function handle(line) {
  let command;
  try {
    command = JSON.parse(line);
  } catch (e) {
    report({ event: "done", ok: false, error: `bad command line: ${e.message}` });
    return;
  }
  const done = (extra) => report({ event: "done", cmd: command.cmd, ...(command.id !== undefined ? { id: command.id } : {}), ...extra });
  chain = chain.then(async () => {
    try {
      if (command.cmd === "server-stop") {
        await stopServer();
        done({ ok: true });
      } else if (command.cmd === "server-start") {
        if (!server) await startServer();
        done({ ok: true, port });
      } else if (server) {
        server.child.stdin.write(`${line}\n`);
      } else {
        done({ ok: false, error: "the server is stopped" });
      }
    } catch (e) {
      done({ ok: false, error: String(e && e.message ? e.message : e) });
    }
  });
}

function poll() {
  let fd;
  try {
    fd = fs.openSync(file("commands"), "r");
    const size = fs.fstatSync(fd).size;
    if (size > offset) {
      const buffer = Buffer.alloc(size - offset);
      const read = fs.readSync(fd, buffer, 0, buffer.length, offset);
      offset += read;
      partial += buffer.subarray(0, read).toString("utf8");
      let newline;
      while ((newline = partial.indexOf("\n")) >= 0) {
        const line = partial.slice(0, newline).trim();
        partial = partial.slice(newline + 1);
        if (line !== "") handle(line);
      }
    }
  } catch (e) {
    log(`reading commands: ${e.message}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Lifetime

let exiting = false;
async function exit(code) {
  if (exiting) return;
  exiting = true;
  clearInterval(ticker);
  setTimeout(() => process.exit(code), 7000).unref();
  await stopServer().catch(() => {});
  reports.end(() => process.exit(code));
}

process.on("SIGTERM", () => exit(0));
process.on("SIGINT", () => exit(0));
process.stdin.on("end", () => exit(0));
process.stdin.on("error", () => exit(0));
process.stdin.resume();

const ticker = setInterval(poll, 5);

startServer()
  .then((p) => {
    const tmp = file("url.tmp");
    fs.writeFileSync(tmp, `http://127.0.0.1:${p}`);
    fs.renameSync(tmp, file("url"));
    log(`server listening on 127.0.0.1:${p}; control folder ${controlDir}`);
  })
  .catch((e) => {
    log(e.message);
    report({ event: "fatal", error: e.message });
    exit(1);
  });
