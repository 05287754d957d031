// The server's flags (README.md, "Flags"): parsed once by server.js into `opts`, which every
// module reads at call time.
"use strict";

const USAGE = `usage: node server.js [--port N] [--host ADDR] [--token SECRET]
       [--heartbeat-timeout-ms MS] [--max-frame-bytes BYTES] [--max-channels N]
       [--jwt-secret SECRET] [--presence-rate-limit N] [--presence-rate-window-ms MS]
       [--join-error-backoff-ms MS] [--ignore-stdin-eof] [--quiet] [--record-arrivals]`;

function fail(msg) {
  process.stderr.write(`server.js: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    port: 0,
    host: "127.0.0.1",
    token: null,
    heartbeatTimeoutMs: 60000,
    maxFrameBytes: 100 * 1024 * 1024,
    maxChannels: 100,
    jwtSecret: null,
    presenceRateLimit: 5,
    presenceRateWindowMs: 30000,
    joinErrorBackoffMs: 0,
    ignoreStdinEof: false,
    quiet: false,
    recordArrivals: false,
  };
  const int = (name, v, min = 0) => {
    if (!/^\d+$/.test(String(v)) || Number(v) < min) {
      fail(`${name} needs an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case "--port": opts.port = int(arg, next()); if (opts.port > 65535) fail("--port is too big"); break;
      case "--host": opts.host = next(); break;
      case "--token": opts.token = next(); break;
      case "--heartbeat-timeout-ms": opts.heartbeatTimeoutMs = int(arg, next(), 1); break;
      case "--max-frame-bytes": opts.maxFrameBytes = int(arg, next(), 1); break;
      case "--max-channels": opts.maxChannels = int(arg, next(), 1); break;
      case "--jwt-secret": opts.jwtSecret = next(); if (!opts.jwtSecret) fail("--jwt-secret needs a value"); break;
      case "--presence-rate-limit": opts.presenceRateLimit = int(arg, next(), 1); break;
      case "--presence-rate-window-ms": opts.presenceRateWindowMs = int(arg, next(), 1); break;
      case "--join-error-backoff-ms": opts.joinErrorBackoffMs = int(arg, next()); break;
      case "--ignore-stdin-eof": if (value !== undefined) fail(`${arg} takes no value`); opts.ignoreStdinEof = true; break;
      case "--quiet": if (value !== undefined) fail(`${arg} takes no value`); opts.quiet = true; break;
      case "--record-arrivals": if (value !== undefined) fail(`${arg} takes no value`); opts.recordArrivals = true; break;
      case "-h":
      case "--help":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        fail(`unknown argument ${arg}`);
    }
  }
  return opts;
}


// Filled by load() before the server starts; the defaults above until then.
const opts = {};

function load(argv) {
  Object.assign(opts, parseArgs(argv));
  return opts;
}

module.exports = { opts, load };
