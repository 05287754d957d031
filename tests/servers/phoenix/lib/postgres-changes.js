// Supabase postgres_changes on command: the change as Realtime sends it, to every realtime:*
// channel with a matching binding (event, schema, table, filter).
"use strict";

const { encodeText } = require("./frames");
const { isObject } = require("./output");
const { conns } = require("./connection");

// Supabase postgres_changes filter: "column=op.value" (eq, neq, lt, lte, gt, gte, in).
function filterMatches(filter, row) {
  if (filter === undefined || filter === null || filter === "") return true;
  const m = /^([^=]+)=(eq|neq|lt|lte|gt|gte|in)\.(.*)$/s.exec(String(filter));
  if (!m || !isObject(row)) return false;
  const [, col, op, raw] = m;
  const v = row[col];
  const str = v === null || v === undefined ? null : String(v);
  const cmp = (a, b) => {
    const na = Number(a);
    const nb = Number(b);
    if (a !== null && Number.isFinite(na) && Number.isFinite(nb) && String(a).trim() !== "" && String(b).trim() !== "") return na - nb;
    return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  };
  switch (op) {
    case "eq": return str !== null && cmp(str, raw) === 0;
    case "neq": return str !== null && cmp(str, raw) !== 0;
    case "lt": return str !== null && cmp(str, raw) < 0;
    case "lte": return str !== null && cmp(str, raw) <= 0;
    case "gt": return str !== null && cmp(str, raw) > 0;
    case "gte": return str !== null && cmp(str, raw) >= 0;
    case "in": {
      const inner = raw.replace(/^\(/, "").replace(/\)$/, "");
      const values = inner.split(",").map((s) => s.trim().replace(/^"(.*)"$/, "$1"));
      return str !== null && values.some((x) => cmp(str, x) === 0);
    }
    default: return false;
  }
}

function pgType(v) {
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int8" : "float8";
  if (v !== null && typeof v === "object") return "jsonb";
  return "text";
}

function postgresChange(cmd) {
  const type = String(cmd.type || "").toUpperCase();
  if (!["INSERT", "UPDATE", "DELETE"].includes(type)) throw new Error("type must be INSERT, UPDATE or DELETE");
  if (typeof cmd.schema !== "string" || typeof cmd.table !== "string") throw new Error("schema and table are required");
  const record = type === "DELETE" ? null : (isObject(cmd.record) ? cmd.record : {});
  const oldRecord = type === "INSERT" ? null : (isObject(cmd.old_record) ? cmd.old_record : {});
  const sample = record || oldRecord || {};
  const columns = Array.isArray(cmd.columns)
    ? cmd.columns
    : Object.keys(sample).map((name) => ({ name, type: pgType(sample[name]) }));
  const data = {
    columns,
    commit_timestamp: typeof cmd.commit_timestamp === "string" ? cmd.commit_timestamp : new Date().toISOString(),
    errors: cmd.errors === undefined ? null : cmd.errors,
  };
  if (oldRecord !== null) data.old_record = oldRecord;
  if (record !== null) data.record = record;
  data.schema = cmd.schema;
  data.table = cmd.table;
  data.type = type;
  const row = type === "DELETE" ? oldRecord : record;
  let delivered = 0;
  for (const conn of conns.values()) {
    for (const ch of conn.channels.values()) {
      if (ch.kind !== "realtime" || ch.state !== "joined") continue;
      if (cmd.topic !== undefined && ch.topic !== cmd.topic) continue;
      const ids = [];
      for (const b of ch.rt.bindings) {
        const p = b.params;
        const ev = p.event === undefined ? "*" : String(p.event).toUpperCase();
        if (ev !== "*" && ev !== type) continue;
        if (p.schema !== undefined && p.schema !== "*" && p.schema !== cmd.schema) continue;
        if (p.table !== undefined && p.table !== "*" && p.table !== cmd.table) continue;
        if (!filterMatches(p.filter, row)) continue;
        if (!ids.includes(b.id)) ids.push(b.id);
      }
      if (ids.length === 0) continue;
      conn.send(encodeText(null, null, ch.topic, "postgres_changes", { ids, data }));
      delivered++;
    }
  }
  return delivered;
}

module.exports = { postgresChange };
