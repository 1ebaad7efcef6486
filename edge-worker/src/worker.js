// MyARK edge router: sends api.<domain> traffic to each user's home cell.
// Contract: see README.md (bindings, KV schema, routing order). Dependency-free.

const JSON_TYPE = "application/json";
const RETRY_AFTER = "30";
const MAX_TOKEN_CHARS = 16384;
const REFRESH_WAIT_MS = 5000; // a request never waits longer than this for a table refresh
const STATUSES = new Set(["active", "draining", "down"]);
const UTF8 = new TextDecoder("utf-8", { fatal: true });

// ---- per-isolate state ------------------------------------------------------
// cells: Map name -> {name, zone, origin, default}; status: Map name -> status;
// defaults: Map zone -> cell name; loadedAt: ms.
let table = null;
let nextRefreshAt = 0; // when a stale table may be refreshed again (backoff after a KV failure)
let inflight = null; // {promise, startedAt}: the single in-flight refresh
let zonesSource;
let zonesParsed;

function jsonError(status, body, retry = true) {
  const headers = { "content-type": JSON_TYPE, "cache-control": "no-store" };
  if (retry) headers["retry-after"] = RETRY_AFTER;
  return new Response(JSON.stringify(body), { status, headers });
}

// ---- cell table -------------------------------------------------------------
async function listKeys(kv, prefix) {
  const names = [];
  let cursor;
  do {
    const page = await kv.list(cursor ? { prefix, cursor } : { prefix });
    for (const k of page.keys) names.push(k.name);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return names;
}

function parseCell(name, raw) {
  let c;
  try {
    c = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!c || typeof c !== "object" || typeof c.zone !== "string" || !c.zone) return null;
  if (c.name !== undefined && c.name !== name) return null; // key and record disagree: unusable
  let origin;
  try {
    const u = new URL(c.origin);
    if (u.protocol !== "https:" && u.protocol !== "http:") return null;
    origin = u.origin; // scheme://host[:port], no trailing slash, no path
  } catch {
    return null;
  }
  return { name, zone: c.zone, origin, default: c.default === true };
}

async function loadTable(kv) {
  const [cellKeys, statusKeys] = await Promise.all([listKeys(kv, "cell:"), listKeys(kv, "status:")]);
  const [cellVals, statusVals] = await Promise.all([
    Promise.all(cellKeys.map((k) => kv.get(k))),
    Promise.all(statusKeys.map((k) => kv.get(k))),
  ]);
  const cells = new Map();
  const defaults = new Map();
  cellKeys.forEach((k, i) => {
    if (cellVals[i] == null) return;
    const cell = parseCell(k.slice(5), cellVals[i]);
    if (!cell) return;
    cells.set(cell.name, cell);
    // one default per zone (a fleet rule); if violated, pick the smallest name, deterministically
    const cur = defaults.get(cell.zone);
    if (cell.default && (cur === undefined || cell.name < cur)) defaults.set(cell.zone, cell.name);
  });
  const status = new Map();
  statusKeys.forEach((k, i) => {
    const s = typeof statusVals[i] === "string" ? statusVals[i].trim().toLowerCase() : "";
    if (STATUSES.has(s)) status.set(k.slice(7), s); // unknown value -> treated as missing (active)
  });
  return { cells, status, defaults, loadedAt: Date.now() };
}

function ttlMs(env) {
  const n = Number(env.CELL_CACHE_TTL_SECONDS ?? "30");
  return Number.isFinite(n) && n >= 0 ? n * 1000 : 30000;
}

// Returns the cell table, or null when KV failed and nothing is cached.
async function getTable(env, ctx) {
  const now = Date.now();
  const ttl = ttlMs(env);
  if (table && (now - table.loadedAt < ttl || now < nextRefreshAt)) return table;
  // A refresh stuck for longer than the wait bound (its request was cancelled) is abandoned.
  if (!inflight || now - inflight.startedAt > REFRESH_WAIT_MS) {
    const promise = loadTable(env.DIRECTORY).then(
      (t) => {
        table = t;
        nextRefreshAt = 0;
        return t;
      },
      (err) => {
        nextRefreshAt = Date.now() + Math.min(ttl, 5000);
        throw err;
      },
    );
    const entry = { promise, startedAt: now };
    inflight = entry;
    promise.then(
      () => inflight === entry && (inflight = null),
      () => inflight === entry && (inflight = null),
    );
    // keep the creating request alive until the refresh settles, so that other
    // requests awaiting the same promise are not cancelled with it
    ctx?.waitUntil?.(promise.catch(() => {}));
  }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("cell table refresh timed out")), REFRESH_WAIT_MS);
  });
  try {
    return await Promise.race([inflight.promise, timeout]);
  } catch {
    return table; // last cached table, or null
  } finally {
    clearTimeout(timer);
  }
}

// ---- request inputs ---------------------------------------------------------
function b64urlJson(seg) {
  if (!seg || seg.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+={0,2}$/.test(seg)) return null;
  try {
    const bin = atob(seg.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/"));
    // ASCII payloads (the usual case) are already their own UTF-8 decoding
    const text = /[^\x00-\x7f]/.test(bin) ? UTF8.decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))) : bin;
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

const str = (v) => (typeof v === "string" && v !== "" ? v : undefined);

// Claims of the bearer token, read but NOT verified (the cell verifies). null if malformed.
function tokenClaims(headers) {
  const auth = headers.get("authorization");
  if (!auth || auth.length < 8 || auth.slice(0, 7).toLowerCase() !== "bearer ") return null;
  const tok = auth.slice(7).trim();
  const a = tok.indexOf(".");
  const b = a < 0 ? -1 : tok.indexOf(".", a + 1);
  if (b < 0 || tok.indexOf(".", b + 1) >= 0) return null; // not 3 parts
  const p = b64urlJson(tok.slice(a + 1, b));
  if (!p) return null;
  return {
    // Cognito ID tokens carry the attribute as `custom:home_cell`; other issuers as `home_cell`.
    cell: str(p.home_cell) ?? str(p["custom:home_cell"]),
    zone: str(p.home_zone) ?? str(p.zone),
    sub: str(p.sub),
    tenant: str(p.tenant_id) ?? str(p.tenant),
  };
}

function cookieCell(headers) {
  const c = headers.get("cookie");
  if (!c) return undefined;
  for (const part of c.split(/[;,]/)) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === "myark_cell") {
      return str(part.slice(i + 1).trim().replace(/^"(.*)"$/, "$1"));
    }
  }
  return undefined;
}

function countryZone(env, country) {
  if (zonesSource !== env.COUNTRY_ZONES) {
    zonesSource = env.COUNTRY_ZONES;
    try {
      const z = zonesSource ? JSON.parse(zonesSource) : {};
      zonesParsed = z && typeof z === "object" && !Array.isArray(z) ? z : null;
    } catch {
      zonesParsed = null;
    }
  }
  if (!zonesParsed) return undefined; // bad config: never guess a zone
  const z = country && Object.hasOwn(zonesParsed, country) ? zonesParsed[country] : env.DEFAULT_ZONE;
  return str(z);
}

// ---- forwarding ---------------------------------------------------------------
async function forward(request, url, headers, origin, cellName, reason) {
  headers.set("x-myark-route-reason", reason);
  if (cellName) headers.set("x-myark-cell", cellName);
  const init = { method: request.method, headers, redirect: "manual" };
  if (request.body !== null) init.body = request.body; // streamed, never buffered
  let res;
  try {
    res = await fetch(origin + url.pathname + url.search, init);
  } catch {
    return jsonError(502, { error: "upstream_unreachable", cell: cellName ?? null });
  }
  if (!cellName) return res;
  const out = new Response(res.body, res);
  out.headers.set("x-myark-cell", cellName);
  return out;
}

// ---- the Worker ---------------------------------------------------------------
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);

    // 1. strip every client-sent routing header before anything else
    const headers = new Headers(request.headers);
    const drop = [];
    for (const name of headers.keys()) if (name.startsWith("x-myark-")) drop.push(name);
    for (const name of drop) headers.delete(name);

    // 2. /auth and /auth/* -> control plane
    if (url.pathname === "/auth" || url.pathname.startsWith("/auth/")) {
      let origin;
      try {
        origin = new URL(env.CONTROL_PLANE_ORIGIN).origin;
      } catch {
        return jsonError(500, { error: "config_invalid", key: "CONTROL_PLANE_ORIGIN" }, false);
      }
      return forward(request, url, headers, origin, null, "auth");
    }

    // 3. the cell table (cached per isolate)
    const t = await getTable(env, ctx);
    if (!t) return jsonError(503, { error: "directory_unavailable" });

    // 4. the home cell: claim, cookie, directory; then the zone's default cell.
    // A zone claim in the token pins the user's residency: no source may pick a cell
    // outside it. Unknown cells fall through to the next source.
    const claims = tokenClaims(request.headers);
    const pinned = claims?.zone;
    const usable = (name) => {
      const c = name !== undefined ? t.cells.get(name) : undefined;
      return c && (pinned === undefined || c.zone === pinned) ? c : undefined;
    };
    let cell = usable(claims?.cell);
    let reason = "claim";
    if (!cell) {
      cell = usable(cookieCell(request.headers));
      reason = "cookie";
    }
    if (!cell && claims?.sub) {
      reason = "directory";
      try {
        cell = usable((await env.DIRECTORY.get("user:" + claims.sub)) ?? undefined);
        if (!cell && claims.tenant) {
          cell = usable((await env.DIRECTORY.get("tenant:" + claims.tenant)) ?? undefined);
        }
      } catch {
        cell = undefined; // directory read failed: fall through to the zone default
      }
    }
    if (!cell) {
      reason = "default";
      const zone = pinned ?? countryZone(env, request.cf?.country);
      if (!zone) return jsonError(500, { error: "config_invalid", key: "COUNTRY_ZONES/DEFAULT_ZONE" }, false);
      const name = t.defaults.get(zone);
      cell = name !== undefined ? t.cells.get(name) : undefined;
      if (!cell) return jsonError(503, { error: "no_cell_for_zone", zone });
    }

    // 5. status: down -> 503 (never fail over); draining still serves its users
    if (t.status.get(cell.name) === "down") {
      return jsonError(503, { error: "cell_unavailable", cell: cell.name });
    }
    return forward(request, url, headers, cell.origin, cell.name, reason);
  },
};
