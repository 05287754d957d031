// JWTs (Supabase tokens; only with --jwt-secret): HS256/384/512 verification with Supabase's
// error kinds and messages.
"use strict";

const crypto = require("crypto");
const { opts } = require("./options");
const { isObject } = require("./output");

function b64urlJson(s) {
  return JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
}

// -> {ok: true, claims} | {ok: false, kind, message}
function verifyJwt(token) {
  if (typeof token !== "string") return { ok: false, kind: "invalid_token", message: "The token provided is not a valid JWT" };
  let t;
  try {
    t = decodeURIComponent(token).replace(/\s/g, "");
  } catch {
    t = token.replace(/\s/g, "");
  }
  const parts = t.split(".");
  let header;
  let claims;
  try {
    if (parts.length !== 3) throw new Error("parts");
    header = b64urlJson(parts[0]);
    claims = b64urlJson(parts[1]);
  } catch {
    return { ok: false, kind: "token_malformed", message: "The token provided is not a valid JWT" };
  }
  if (!isObject(header) || !isObject(claims)) {
    return { ok: false, kind: "token_malformed", message: "The token provided is not a valid JWT" };
  }
  const algs = { HS256: "sha256", HS384: "sha384", HS512: "sha512" };
  const alg = algs[header.alg];
  if (!alg) return { ok: false, kind: "error_generating_signer", message: "Failed to generate JWT signer, check your JWT secret or JWKS configuration" };
  const expected = crypto.createHmac(alg, opts.jwtSecret).update(`${parts[0]}.${parts[1]}`).digest();
  let given;
  try {
    given = Buffer.from(parts[2], "base64url");
  } catch {
    given = Buffer.alloc(0);
  }
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    return { ok: false, kind: "signature_error", message: "Failed to validate JWT signature" };
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === "number") {
    claims.exp = Math.round(claims.exp);
    if (claims.exp <= now) {
      return { ok: false, kind: "expired_token", message: `Token has expired ${now - claims.exp} seconds ago` };
    }
  }
  if (!("role" in claims) || !("exp" in claims)) {
    return { ok: false, kind: "missing_claims", message: "Fields `role` and `exp` are required in JWT" };
  }
  return { ok: true, claims };
}

module.exports = { verifyJwt };
