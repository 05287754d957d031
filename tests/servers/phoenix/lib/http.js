// HTTP and the WebSocket upgrade: routes, vsn and token checks (403/401/404/400), then each
// accepted socket's frames fed in order to the socket handler.
"use strict";

const http = require("http");
const { WebSocketServer } = require("ws");
const { opts } = require("./options");
const { decodeFrame } = require("./frames");
const { report, log, redactParams } = require("./output");
const { verifyJwt } = require("./jwt");
const { PHOENIX_PATH, REALTIME_PATH, Conn, conns } = require("./connection");
const { handleFrame } = require("./socket");

function queryParams(url) {
  const params = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  return params;
}

function authTokenFromProtocols(header) {
  if (typeof header !== "string") return null;
  const prefix = "base64url.bearer.phx.";
  for (const p of header.split(",").map((s) => s.trim())) {
    if (p.startsWith(prefix)) {
      try {
        return Buffer.from(p.slice(prefix.length), "base64").toString("utf8");
      } catch {
        return null;
      }
    }
  }
  return null;
}

function refuseUpgrade(socket, status, body, contentType) {
  const text = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found" }[status] || "Error";
  const b = Buffer.from(body || "", "utf8");
  const headers = [`HTTP/1.1 ${status} ${text}`, `content-length: ${b.length}`, "connection: close"];
  if (contentType) headers.push(`content-type: ${contentType}`);
  socket.end(Buffer.concat([Buffer.from(`${headers.join("\r\n")}\r\n\r\n`), b]));
}

// The HTTP server with its upgrade handler (made once opts are loaded: `ws` takes the frame limit).
function createServer() {
  const httpServer = http.createServer((req, res) => {
    let path = "/";
    try {
      path = new URL(req.url, "http://localhost").pathname;
    } catch {
      // keep "/"
    }
    // A plain HTTP request to a WebSocket path is a failed upgrade (400); longpoll is not enabled,
    // like on the recorded server (404), and so is anything else.
    const status = (path === PHOENIX_PATH || path === REALTIME_PATH) ? 400 : 404;
    report({ event: "http", method: req.method, path, status });
    res.writeHead(status, { "content-length": 0 });
    res.end();
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    autoPong: false, // answered below, unless the connection is blackholed
    handleProtocols: (protocols) => (protocols.has("phoenix") ? "phoenix" : false),
  });

  httpServer.on("upgrade", (req, socket, head) => {
    socket.on("error", () => {});
    let url;
    try {
      url = new URL(req.url, "http://localhost");
    } catch {
      refuseUpgrade(socket, 400, "");
      return;
    }
    const path = url.pathname;
    const params = queryParams(url);
    const refuse = (status, reason, body, contentType) => {
      report({ event: "refused", status, reason, path, params: redactParams(params) });
      refuseUpgrade(socket, status, body, contentType);
    };
    if (path !== PHOENIX_PATH && path !== REALTIME_PATH) return refuse(404, "no route");
    if (req.method !== "GET") return refuse(400, "method");
    // Phoenix negotiates the serializer from vsn (default "1.0.0"); this server speaks only v2.
    const vsn = params.vsn === undefined ? "1.0.0" : params.vsn;
    if (!/^2\.0\.\d+$/.test(vsn)) return refuse(403, "vsn");
    const bearer = authTokenFromProtocols(req.headers["sec-websocket-protocol"]);
    if (path === PHOENIX_PATH) {
      if (opts.token !== null && params.token !== opts.token && bearer !== opts.token) return refuse(403, "token");
    } else if (opts.jwtSecret) {
      const key = req.headers["x-api-key"] || params.apikey;
      if (typeof key !== "string") return refuse(401, "missing_api_key", JSON.stringify({ error: "API key is missing" }), "application/json");
      const v = verifyJwt(key);
      if (!v.ok) {
        const msg = v.kind === "signature_error" ? "Failed to validate JWT signature"
          : v.kind === "expired_token" ? "Token has expired"
            : v.message;
        return refuse(401, v.kind, JSON.stringify({ error: msg }), "application/json");
      }
      params.apikey = key;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, path, params));
    return undefined;
  });

  return httpServer;
}

function onConnection(ws, path, params) {
  const conn = new Conn(ws, path, params, ws.protocol);
  conns.set(conn.id, conn);
  report({ event: "connect", socket: conn.id, path, params: redactParams(params), user: conn.user, protocol: conn.protocol });
  ws.on("message", (data, isBinary) => {
    if (conn.closed || conn.blackhole === "all") return;
    conn.resetIdle();
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    conn.queue = conn.queue.then(() => {
      if (conn.closed) return undefined;
      let msg;
      try {
        msg = decodeFrame(buf, isBinary);
      } catch (e) {
        // The socket process would crash on a frame it cannot decode.
        log(`${conn.id}: bad frame: ${e.message}`);
        report({ event: "bad_frame", socket: conn.id, error: e.message });
        conn.close(1011, "bad_frame");
        return undefined;
      }
      return handleFrame(conn, msg);
    }).catch((e) => {
      log(`${conn.id}: handler error: ${e.stack || e}`);
      conn.close(1011, "server_error");
    });
  });
  ws.on("ping", (data) => {
    if (conn.blackhole === "all" || conn.closed) return;
    conn.resetIdle();
    ws.pong(data);
  });
  ws.on("close", (code) => {
    // A close the server started was already reported when it started.
    conn.finish(code, code === 1009 ? "frame_too_big" : "client", "client");
  });
  ws.on("error", (e) => {
    log(`${conn.id}: ${e.message}`);
  });
}

module.exports = { createServer };
