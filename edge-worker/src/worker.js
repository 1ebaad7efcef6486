// MyARK edge router: sends api.<domain> traffic to each user's home cell.
// Contract: see README.md (bindings, KV schema, routing order, errors). Dependency-free.
//
// Residency rule: a request either reaches a cell of the user's verified zone or gets an answer
// from the edge itself. Every source that cannot be established (token, key set, directory,
// cell record, status) fails closed; only anonymous requests are placed by the client's country.

const JSON_TYPE = "application/json";
const RETRY_AFTER = "30";
const MAX_TOKEN_CHARS = 16384;
const STATUSES = new Set(["active", "draining", "down"]);
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const TOKEN_CACHE_MAX = 4096; // verified tokens kept per isolate (insertion order = eviction order)
const CLOCK_SKEW_S = 30; // tolerated for `nbf`/`iat` only; `exp` is strict
const JWKS_TIMEOUT_MS = 2000;

// Hop-by-hop (RFC 9110 section 7.6.1 plus the legacy ones) and client-sent forwarding headers:
// never forwarded. Names are compared after lowercasing and mapping `_` to `-`, because some
// servers treat `x_forwarded_for` as `x-forwarded-for`.
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate",
  "te", "trailer", "transfer-encoding", "upgrade",
]);
const FORWARDING = new Set([
  "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
  "x-forwarded-prefix", "x-forwarded-server", "x-forwarded-ssl", "x-real-ip", "x-client-ip",
  "x-cluster-client-ip", "x-original-forwarded-for", "x-original-host", "x-original-url",
  "x-rewrite-url", "x-host", "true-client-ip", "client-ip", "via",
]);
const INTERNAL_PREFIX = "x-myark-";

// ---- per-isolate state ------------------------------------------------------
// table: {cells: Map name -> {name, zone, origin, default}, status: Map name -> status,
//         defaults: Map zone -> name, byZone: Map zone -> [names sorted], loadedAt}
let table = null;
let nextRefreshAt = 0; // when a stale table may be refreshed again (backoff after a KV failure)
let inflight = null; // {promise, startedAt}: the single in-flight refresh
let zonesSource;
let zonesParsed;
// keys: {byKid: Map kid -> CryptoKey, fetchedAt, url}; the single in-flight key set fetch
let keys = null;
let keysInflight = null;
let keysLastAttempt = 0;
const verified = new Map(); // token -> {claims, expMs}

function jsonError(status, body, retry = status >= 500) {
  const headers = { "content-type": JSON_TYPE, "cache-control": "no-store" };
  if (retry) headers["retry-after"] = RETRY_AFTER;
  if (status === 401) headers["www-authenticate"] = 'Bearer error="invalid_token"';
  return new Response(JSON.stringify(body), { status, headers });
}

function numberVar(env, name, dflt) {
  const n = Number(env[name] ?? dflt);
  return Number.isFinite(n) && n >= 0 ? n : dflt;
}

// Resolves with the promise's value, or rejects after `ms` (the promise is abandoned, not awaited).
function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const kvTimeoutMs = (env) => numberVar(env, "KV_TIMEOUT_MS", 1000);

// ---- cell table -------------------------------------------------------------
async function listKeys(kv, prefix, ms) {
  const names = [];
  let cursor;
  do {
    const page = await bounded(kv.list(cursor ? { prefix, cursor } : { prefix }), ms, "KV list");
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
  return { name, zone: c.zone, origin, default: c.default === true, auth: undefined };
}

async function loadTable(kv, ms) {
  const [cellKeys, statusKeys, secretKeys] = await Promise.all(
    ["cell:", "status:", "secret:"].map((prefix) => listKeys(kv, prefix, ms)),
  );
  const get = (k) => bounded(kv.get(k), ms, "KV get");
  const [cellVals, statusVals, secretVals] = await Promise.all(
    [cellKeys, statusKeys, secretKeys].map((keys) => Promise.all(keys.map(get))),
  );
  const cells = new Map();
  const defaults = new Map();
  const byZone = new Map();
  cellKeys.forEach((k, i) => {
    if (cellVals[i] == null) return;
    const cell = parseCell(k.slice(5), cellVals[i]);
    if (!cell) return; // corrupt record: the cell is unknown (its users get 503, never a guess)
    cells.set(cell.name, cell);
    if (!byZone.has(cell.zone)) byZone.set(cell.zone, []);
    byZone.get(cell.zone).push(cell.name);
    // one default per zone (a fleet rule); if violated, pick the smallest name, deterministically
    const cur = defaults.get(cell.zone);
    if (cell.default && (cur === undefined || cell.name < cur)) defaults.set(cell.zone, cell.name);
  });
  for (const names of byZone.values()) names.sort();
  // each cell's origin secret (Cloudflare mode): sent only to that cell's load balancer
  secretKeys.forEach((k, i) => {
    const cell = cells.get(k.slice(7));
    if (cell && typeof secretVals[i] === "string" && secretVals[i]) cell.auth = secretVals[i];
  });
  const status = new Map();
  statusKeys.forEach((k, i) => {
    if (statusVals[i] == null) return; // deleted since the list: no key = active
    const s = typeof statusVals[i] === "string" ? statusVals[i].trim().toLowerCase() : "";
    // an unreadable status is not evidence that a cell is up: treat it as down
    status.set(k.slice(7), STATUSES.has(s) ? s : "down");
  });
  return { cells, status, defaults, byZone, loadedAt: Date.now() };
}

// Returns the cell table, or null when KV failed and nothing is cached.
async function getTable(env, ctx) {
  const now = Date.now();
  const ttl = numberVar(env, "CELL_CACHE_TTL_SECONDS", 30) * 1000;
  const wait = kvTimeoutMs(env);
  if (table && (now - table.loadedAt < ttl || now < nextRefreshAt)) return table;
  // A refresh stuck for longer than the wait bound (its request was cancelled) is abandoned.
  if (!inflight || now - inflight.startedAt > wait) {
    const promise = loadTable(env.DIRECTORY, wait).then(
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
  try {
    return await bounded(inflight.promise, wait, "cell table refresh");
  } catch {
    return table; // last cached table (cell zones never change), or null
  }
}

const statusOf = (t, name) => t.status.get(name) ?? "active";

// Where the zone's NEW users go (anonymous and signed-in users without a home): its default cell
// if active, else its first active cell by name; a draining or down cell takes no new users.
function placementCell(t, zone) {
  const d = t.defaults.get(zone);
  if (d !== undefined && statusOf(t, d) === "active") return t.cells.get(d);
  for (const name of t.byZone.get(zone) ?? []) if (statusOf(t, name) === "active") return t.cells.get(name);
  return undefined;
}

// ---- token verification -------------------------------------------------------
// base64url -> a binary string (one char per byte); throws on input atob refuses
const b64urlBinary = (seg) => atob(seg.replace(/-/g, "+").replace(/_/g, "/"));

// Scratch buffers for the signature check, reused by every verification: no garbage per check for
// the signing input and the signature (a cold verification counts about 0.44 M instructions in the
// benchmark, 0.29 M of them RSA and SHA-256). Reuse is safe: WebCrypto takes a copy of the bytes of
// its BufferSource arguments when verify() is called (Web Cryptography API, verify(), steps 2 and
// 3), and no other JavaScript runs between filling the buffers and that call.
const SIGNING_INPUT = new Uint8Array(MAX_TOKEN_CHARS);
const SIGNATURE = new Uint8Array(1024); // keys up to 8,192 bits
const ENCODER = new TextEncoder();

// Resolves to whether `parts` (a token split on ".", its first two parts already checked to be
// base64url, hence one byte per character) carries a valid RS256 signature by `key`.
function signatureValid(key, parts) {
  const input = parts[0] + "." + parts[1];
  if (input.length > SIGNING_INPUT.length) return false;
  const { written } = ENCODER.encodeInto(input, SIGNING_INPUT);
  const sig = b64urlBinary(parts[2]);
  if (sig.length > SIGNATURE.length) return false;
  for (let i = 0; i < sig.length; i++) SIGNATURE[i] = sig.charCodeAt(i);
  return crypto.subtle.verify(
    "RSASSA-PKCS1-v1_5", key, SIGNATURE.subarray(0, sig.length), SIGNING_INPUT.subarray(0, written),
  );
}

function b64urlJson(seg) {
  if (!seg || !/^[A-Za-z0-9_-]+$/.test(seg)) return null;
  try {
    const bin = b64urlBinary(seg);
    // ASCII payloads (the usual case) are already their own UTF-8 decoding
    const text = /[^\x00-\x7f]/.test(bin) ? UTF8.decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))) : bin;
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

const str = (v) => (typeof v === "string" && v !== "" ? v : undefined);

async function fetchKeys(url) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), JWKS_TIMEOUT_MS);
  try {
    const res = await fetch(url, { signal: ctrl.signal, headers: { accept: JSON_TYPE } });
    if (res.status !== 200) throw new Error(`key set: HTTP ${res.status}`);
    const body = await res.json();
    if (!body || !Array.isArray(body.keys)) throw new Error("key set: no keys array");
    const byKid = new Map();
    for (const jwk of body.keys) {
      if (!jwk || jwk.kty !== "RSA" || typeof jwk.kid !== "string") continue;
      if (jwk.alg !== undefined && jwk.alg !== "RS256") continue;
      if (jwk.use !== undefined && jwk.use !== "sig") continue;
      try {
        const { kty, n, e } = jwk;
        const key = await crypto.subtle.importKey(
          "jwk", { kty, n, e, alg: "RS256", ext: true },
          { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"],
        );
        byKid.set(jwk.kid, key);
      } catch {
        // an unusable key is skipped, the others still verify
      }
    }
    return { byKid, fetchedAt: Date.now(), url };
  } finally {
    clearTimeout(timer);
  }
}

// The key set, refreshed when older than JWKS_REFRESH_SECONDS, or (at most once per
// JWKS_MIN_REFRESH_SECONDS) when a token names a kid we do not hold. A failed refresh keeps the
// last set. null: no key set could ever be fetched.
async function getKeys(env, ctx, kid) {
  const now = Date.now();
  const url = env.JWKS_URL;
  const maxAge = numberVar(env, "JWKS_REFRESH_SECONDS", 3600) * 1000;
  const minGap = numberVar(env, "JWKS_MIN_REFRESH_SECONDS", 60) * 1000;
  const held = keys && keys.url === url ? keys : null;
  const known = held !== null && held.byKid.has(kid);
  if (known && now - held.fetchedAt < maxAge) return held;
  if (held && now - keysLastAttempt < minGap) return held; // rate limit: at most one fetch per gap
  if (!keysInflight) {
    keysLastAttempt = now;
    const p = fetchKeys(url).then(
      (k) => (keys = k),
      () => (keys && keys.url === url ? keys : null), // keep the last set (or none)
    );
    keysInflight = p;
    p.finally(() => keysInflight === p && (keysInflight = null));
    ctx?.waitUntil?.(p);
  }
  // a periodic refresh runs in the background; an unknown kid (or no set yet) waits for it
  return known ? held : keysInflight;
}

// Verifies the bearer token. Returns {claims} | {error: 401|503 response}.
async function verifyToken(token, env, ctx) {
  const now = Date.now();
  const hit = verified.get(token);
  if (hit) {
    if (hit.expMs > now) return hit;
    verified.delete(token);
    return { invalid: "expired" };
  }
  const parts = token.split(".");
  if (parts.length !== 3) return { invalid: "malformed" };
  const header = b64urlJson(parts[0]);
  const p = b64urlJson(parts[1]);
  if (!header || !p || !/^[A-Za-z0-9_-]+$/.test(parts[2])) return { invalid: "malformed" };
  if (header.alg !== "RS256" || typeof header.kid !== "string") return { invalid: "algorithm" };
  // claims first: cheap, and an expired or foreign token costs no signature check
  const iss = env.TOKEN_ISSUER;
  const aud = env.TOKEN_AUDIENCE;
  if (!str(iss) || !str(aud) || !str(env.JWKS_URL)) return { config: "JWKS_URL/TOKEN_ISSUER/TOKEN_AUDIENCE" };
  if (p.iss !== iss) return { invalid: "issuer" };
  if (p.token_use === "id") {
    if (!(p.aud === aud || (Array.isArray(p.aud) && p.aud.includes(aud)))) return { invalid: "audience" };
  } else if (p.token_use === "access") {
    if (p.client_id !== aud) return { invalid: "audience" };
  } else {
    return { invalid: "token_use" };
  }
  const nowS = now / 1000;
  if (typeof p.exp !== "number" || !(p.exp > nowS)) return { invalid: "expired" };
  if (p.nbf !== undefined && !(typeof p.nbf === "number" && p.nbf <= nowS + CLOCK_SKEW_S)) return { invalid: "not_yet_valid" };
  if (p.iat !== undefined && !(typeof p.iat === "number" && p.iat <= nowS + CLOCK_SKEW_S)) return { invalid: "issued_in_future" };
  if (!str(p.sub)) return { invalid: "no_subject" };
  const ks = await getKeys(env, ctx, header.kid);
  if (!ks) return { unavailable: true };
  const key = ks.byKid.get(header.kid);
  if (!key) return { invalid: "unknown_key" };
  let ok = false;
  try {
    ok = await signatureValid(key, parts);
  } catch {
    ok = false;
  }
  if (!ok) return { invalid: "signature" };
  const claims = {
    sub: p.sub,
    // Cognito prefixes custom attributes with `custom:`; both spellings are signed claims here.
    cell: str(p["custom:home_cell"]) ?? str(p.home_cell),
    zone: str(p["custom:home_zone"]) ?? str(p.home_zone),
    tenant: str(p["custom:tenant_id"]) ?? str(p.tenant_id),
  };
  if (verified.size >= TOKEN_CACHE_MAX) verified.delete(verified.keys().next().value);
  const entry = { claims, expMs: p.exp * 1000 };
  verified.set(token, entry);
  return entry;
}

// ---- request inputs ---------------------------------------------------------
// The myark_cell cookie, only when it is unambiguous: exactly one, split on `;` only (RFC 6265).
function cookieCell(c) {
  if (!c) return undefined;
  let found;
  let count = 0;
  for (const part of c.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === "myark_cell") {
      count++;
      found = part.slice(i + 1).trim().replace(/^"(.*)"$/, "$1");
    }
  }
  return count === 1 ? str(found) : undefined;
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

const DROPPED = new Set([...HOP_BY_HOP, ...FORWARDING]);

// The headers a cell receives: the client's, less hop-by-hop, forwarding and internal ones.
// On the hot path every call into workerd's C++ costs more than the JavaScript around it, so this
// visits the client's headers once with `forEach` (one call; `keys()` copies every header in C++
// too, then costs a call and a result object per name), copies the client's Headers in C++ (`new
// Headers`: keeps each field line as the client sent it) and deletes only what must go (usually
// nothing). Names come lowercased; `delete` removes every value of a name.
function cleanHeaders(src) {
  const seen = { authorization: null, cookie: null, ip: null, conn: null, drop: null };
  src.forEach(visitHeader, seen);
  let drop = seen.drop;
  if (seen.conn) {
    // headers named by Connection are hop-by-hop too
    const listed = seen.conn.split(",").map((s) => s.trim().toLowerCase().replace(/_/g, "-"));
    for (const name of src.keys()) if (listed.includes(name.replace(/_/g, "-"))) (drop ??= []).push(name);
  }
  const headers = new Headers(src);
  if (drop) for (const name of drop) headers.delete(name);
  // The client's address as Cloudflare saw it (clients cannot set CF-Connecting-IP through
  // Cloudflare); the cell's web ACL rate-limits on x-myark-client-ip.
  const ip = seen.ip;
  if (ip) {
    headers.set("x-forwarded-for", ip);
    headers.set("x-myark-client-ip", ip);
  }
  // No X-Forwarded-Proto: the client's is dropped above, and the cell's load balancer sets its own
  // (it forwards only from its HTTPS listener, so the cell always reads `https`).
  return { headers, authorization: seen.authorization, cookie: seen.cookie };
}

// cleanHeaders' visitor (`this`: what it collects): the four values the router reads, and the
// names to drop. A name sent twice is visited once, its values joined.
function visitHeader(value, name) {
  if (name === "authorization") this.authorization = value;
  else if (name === "cookie") this.cookie = value;
  else if (name === "cf-connecting-ip") this.ip = value;
  else if (name === "connection") this.conn = value;
  if (dropped(name)) (this.drop ??= []).push(name);
}

// Hop-by-hop, forwarding and internal names, compared after mapping `_` to `-`.
function dropped(name) {
  const n = name.includes("_") ? name.replace(/_/g, "-") : name;
  return n.startsWith(INTERNAL_PREFIX) || DROPPED.has(n);
}

// ---- forwarding ---------------------------------------------------------------
// The cell's response is returned as it is (no re-wrap: responses from fetch have immutable
// headers in workerd, and copying one into a new Response cost about 5 % of the router's CPU per
// request). The router adds only what the cell cannot know: why the request was routed there and,
// in Cloudflare mode, the cell's own origin secret. Each added header costs about 2 % of a request's
// workerd CPU in the benchmark, so the common case costs none: a signed-in user routed by the
// verified home cell claim gets no route reason (its absence means `claim`; clients cannot send
// one, every `x-myark-*` header is dropped above). The cell knows its own name: no `x-myark-cell`.
function forward(method, body, target, headers, cellName, reason, auth) {
  if (reason !== "claim") headers.set("x-myark-route-reason", reason);
  // the cell's origin secret: proves to its load balancer that the request comes from the router
  // (secrets are per cell, so it also proves the router chose this cell)
  if (auth) headers.set("x-myark-origin-auth", auth);
  const init = { method, headers, redirect: "manual" };
  // streamed, never buffered; a GET or HEAD here has at most an empty body, never forwarded
  if (body !== null) init.body = body;
  const unreachable = () => jsonError(502, { error: "upstream_unreachable", cell: cellName ?? null });
  try {
    return fetch(target, init).catch(unreachable);
  } catch {
    return unreachable();
  }
}

// ---- the Worker ---------------------------------------------------------------
export default {
  async fetch(request, env, ctx) {
    // each property of `request` is a call into workerd: read each once
    const method = request.method;
    const src = request.headers;
    const url = new URL(request.url);
    const path = url.pathname;

    // 1. request hygiene
    const bodyless = method === "GET" || method === "HEAD";
    let body = request.body;
    if (bodyless && body !== null) {
      // workerd gives a GET with `Content-Length: 0` a (empty) body stream: that is no body
      if (src.get("content-length") !== "0") return jsonError(400, { error: "body_not_allowed", method });
      body = null; // never forwarded
    }
    const clean = cleanHeaders(src);
    const headers = clean.headers;
    const target = path + url.search;

    // 2. /auth and /auth/* -> control plane (sign-in: no token to verify yet)
    if (path === "/auth" || path.startsWith("/auth/")) {
      let origin;
      try {
        origin = new URL(env.CONTROL_PLANE_ORIGIN).origin;
      } catch {
        return jsonError(500, { error: "config_invalid", key: "CONTROL_PLANE_ORIGIN" }, false);
      }
      return forward(method, body, origin + target, headers, null, "auth");
    }

    // 3. identity: a present Authorization header must carry a valid token, else 401
    const auth = clean.authorization;
    let claims = null;
    if (auth !== null) {
      // hot path: `Bearer <token>` with a token verified before and not expired costs one map
      // lookup, no regex and no await (a cached token matched the regex below when it was
      // verified, so this is the regex's answer too)
      let v = auth.startsWith("Bearer ") ? verified.get(auth.slice(7)) : undefined;
      if (v === undefined || !(v.expMs > Date.now())) {
        const m = /^bearer +(\S+) *$/i.exec(auth);
        if (!m || m[1].length > MAX_TOKEN_CHARS) return jsonError(401, { error: "token_invalid", reason: "malformed" });
        v = await verifyToken(m[1], env, ctx);
      }
      if (v.config) return jsonError(500, { error: "config_invalid", key: v.config }, false);
      if (v.unavailable) return jsonError(503, { error: "keys_unavailable" });
      if (v.invalid) return jsonError(401, { error: "token_invalid", reason: v.invalid });
      claims = v.claims;
    }

    // 4. the cell table (cached per isolate)
    // hot path: a fresh cached table is used without an await
    const t = table && Date.now() - table.loadedAt < numberVar(env, "CELL_CACHE_TTL_SECONDS", 30) * 1000
      ? table
      : await getTable(env, ctx);
    if (!t) return jsonError(503, { error: "directory_unavailable" });

    let cell;
    let reason;
    if (claims) {
      // 5a. signed in: the home cell from the verified claim or the directory, in the verified zone
      const zone = claims.zone;
      if (!zone) return jsonError(503, { error: "home_zone_missing" });
      let name = claims.cell;
      reason = "claim";
      if (name === undefined) {
        reason = "directory";
        try {
          const read = (k) => bounded(env.DIRECTORY.get(k), kvTimeoutMs(env), "KV get");
          const v = await read("user:" + claims.sub);
          name = v ?? (claims.tenant ? await read("tenant:" + claims.tenant) : null) ?? undefined;
        } catch {
          return jsonError(503, { error: "directory_unavailable" });
        }
        if (name !== undefined && typeof name !== "string") return jsonError(503, { error: "home_cell_unknown" });
      }
      if (name === undefined) {
        // a new user (no home yet): the zone's placement cell, never the country's
        reason = "new";
        cell = placementCell(t, zone);
        if (!cell) return jsonError(503, { error: "no_cell_for_zone", zone });
      } else {
        cell = t.cells.get(name);
        if (!cell) return jsonError(503, { error: "home_cell_unknown" });
        if (cell.zone !== zone) return jsonError(503, { error: "zone_mismatch" });
      }
    } else {
      // 5b. anonymous: a cookie naming an active cell, else the country zone's placement cell
      const fromCookie = t.cells.get(cookieCell(clean.cookie) ?? "");
      if (fromCookie && statusOf(t, fromCookie.name) === "active") {
        cell = fromCookie;
        reason = "cookie";
      } else {
        const zone = countryZone(env, request.cf?.country);
        if (!zone) return jsonError(500, { error: "config_invalid", key: "COUNTRY_ZONES/DEFAULT_ZONE" }, false);
        cell = placementCell(t, zone);
        reason = "country";
        if (!cell) return jsonError(503, { error: "no_cell_for_zone", zone });
      }
    }

    // 6. status: down -> 503 (never fail over a user's home); draining still serves its users
    if (statusOf(t, cell.name) === "down") {
      return jsonError(503, { error: "cell_unavailable", cell: cell.name });
    }
    return forward(method, body, cell.origin + target, headers, cell.name, reason, cell.auth);
  },
};
