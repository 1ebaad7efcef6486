// Shared fixtures of the Worker's tests: the real worker (src/worker.js) in workerd through
// Miniflare 4, a user pool's key set served by a fake upstream, tokens signed in the test.
//
// Workers in one Miniflare instance, sharing one KV namespace ("directory"):
//   router-*   the real router, each its own isolate (own caches), with its own bindings
//   kv-proxy   a WorkerEntrypoint bound as DIRECTORY to some routers: its get()/list() forward
//              to the real namespace, count calls, and throw or stall on demand (admin over its
//              fetch handler, or per key: `user:throw-*` throws, `user:stall-*` stalls 2 s)
// The router has no test hook: a failing KV is a binding whose methods throw.
// Every fetch the routers make leaves workerd through `outboundService` (`upstream` below): the
// key set URL answers with the test's JWKS; anything else is a cell or the control plane, recorded.

import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

export const scriptPath = fileURLToPath(new URL("../src/worker.js", import.meta.url));

export const CONTROL_PLANE = "https://auth.myark.io";
export const ISSUER = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_TestPool";
export const AUDIENCE = "test-client-id";
export const JWKS_HOST = "cognito-idp.eu-central-1.amazonaws.com";
export const jwksUrl = (tag) => `https://${JWKS_HOST}/eu-central-1_TestPool/.well-known/jwks.json?w=${tag}`;
export const COUNTRY_ZONES = { DE: "eu", FR: "eu", IE: "eu", NL: "eu", US: "us", CA: "us", IN: "ap", JP: "jp" };
export const VARS = {
  CONTROL_PLANE_ORIGIN: CONTROL_PLANE,
  DEFAULT_ZONE: "us",
  COUNTRY_ZONES: JSON.stringify(COUNTRY_ZONES),
  TOKEN_ISSUER: ISSUER,
  TOKEN_AUDIENCE: AUDIENCE,
};

export const CELLS = {
  "eu-central-1": { zone: "eu", default: true },
  "eu-west-1": { zone: "eu" },
  "eu-north-1": { zone: "eu" },
  "us-east-1": { zone: "us", default: true },
  "us-west-2": { zone: "us" },
  "ap-south-1": { zone: "ap" }, // a zone with no default cell
};
export const originOf = (name) => `https://${name}.api.myark.io`;
export const cellRecord = (name) =>
  JSON.stringify({ name, zone: CELLS[name].zone, origin: originOf(name), default: CELLS[name].default === true });
export const BASE_KV = {
  ...Object.fromEntries(Object.keys(CELLS).map((name) => [`cell:${name}`, cellRecord(name)])),
  "status:eu-west-1": "draining",
  "status:us-west-2": "down",
  "status:eu-central-1": "active",
  "user:alice": "eu-west-1",
  "user:bob": "us-east-1",
  "user:ghost": "eu-nowhere-9",
  "user:spacey": "eu-west-1 ",
  "tenant:acme": "eu-north-1",
};

// ---- keys and tokens --------------------------------------------------------------
const rsa = () => generateKeyPairSync("rsa", { modulusLength: 2048 });
export const KEYS = { k1: rsa(), k2: rsa(), forger: rsa() };
const jwk = (kid) => ({ ...KEYS[kid].publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" });
// the key set each `?w=<tag>` URL serves (default: k1 only), and how often each was fetched
export const jwks = { kids: new Map(), fetches: new Map(), down: new Set() };

export const b64url = (s) => Buffer.from(s).toString("base64url");
const nowS = () => Math.floor(Date.now() / 1000);

// An ID token as Cognito issues it, signed with `key` (default k1) under header kid `kid`.
export function token(claims = {}, { kid = "k1", key = kid, header = {}, raw } = {}) {
  const payload = raw ?? {
    iss: ISSUER, aud: AUDIENCE, token_use: "id", iat: nowS(), exp: nowS() + 3600, ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const h = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid, ...header }));
  const p = b64url(typeof payload === "string" ? payload : JSON.stringify(payload));
  const sig = sign("sha256", Buffer.from(`${h}.${p}`), KEYS[key].privateKey).toString("base64url");
  return `${h}.${p}.${sig}`;
}
// A signed-in user: sub, home zone and (optionally) home cell as Cognito's custom attributes.
export const user = (sub, zone, cell, extra = {}) => ({
  sub, "custom:home_zone": zone, ...(cell ? { "custom:home_cell": cell } : {}), ...extra,
});
export const bearer = (claims, opts) => ({ authorization: `Bearer ${token(claims, opts)}` });

// ---- upstream ---------------------------------------------------------------------
export const captured = [];
export async function upstream(req) {
  const u = new URL(req.url);
  if (u.host === JWKS_HOST) {
    const tag = u.searchParams.get("w") ?? "";
    jwks.fetches.set(tag, (jwks.fetches.get(tag) ?? 0) + 1);
    if (jwks.down.has(tag)) return new Response("unavailable", { status: 503 });
    const kids = jwks.kids.get(tag) ?? ["k1"];
    return Response.json({ keys: kids.map(jwk) });
  }
  const body = Buffer.from(await req.arrayBuffer());
  captured.push({
    origin: u.origin,
    url: req.url,
    path: u.pathname,
    method: req.method,
    headers: Object.fromEntries(req.headers),
    headerList: [...req.headers], // as iterated: a repeated set-cookie stays repeated
    bodyLength: body.length,
    bodySha: createHash("sha256").update(body).digest("hex"),
  });
  if (u.pathname === "/redirect") {
    return new Response(null, { status: 302, headers: { location: "https://elsewhere.example/", "x-upstream-host": u.host } });
  }
  return new Response(`upstream ${u.host}`, { headers: { "content-type": "text/plain", "x-upstream-host": u.host } });
}

// ---- the KV proxy worker (test fixture: a binding, not a hook in the router) ----
const KV_PROXY = `
import { WorkerEntrypoint } from "cloudflare:workers";
let stats = { get: [], list: [] };
let fail = "";      // "" | "all" | "user" | "list"
let stallMs = 0;    // delay every list() by this much
const fault = (what) => { throw new Error("KV unavailable (injected: " + what + ")"); };
export class Kv extends WorkerEntrypoint {
  async get(key, opts) {
    stats.get.push(key);
    if (fail === "all" || (fail === "user" && /^(user|tenant):/.test(key))) fault("get " + key);
    if (key.startsWith("user:throw-")) fault("get " + key);
    if (key.startsWith("user:stall-")) await new Promise((r) => setTimeout(r, 2000));
    return this.env.DIRECTORY.get(key, opts);
  }
  async list(opts) {
    stats.list.push(opts?.prefix ?? "");
    if (stallMs) await new Promise((r) => setTimeout(r, stallMs));
    if (fail === "all" || fail === "list") fault("list");
    return this.env.DIRECTORY.list(opts);
  }
}
export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    const snapshot = JSON.stringify(stats); // the stats before this call
    if (u.pathname === "/reset") { stats = { get: [], list: [] }; fail = ""; stallMs = 0; }
    if (u.pathname === "/fail") fail = u.searchParams.get("mode") ?? "";
    if (u.pathname === "/stall") stallMs = Number(u.searchParams.get("ms") ?? 0);
    if (u.pathname === "/kv") { // test setup: {clear, put: {key: value | null}} in one round trip
      const { clear, put } = await req.json();
      const kv = env.DIRECTORY;
      if (clear) {
        let cursor;
        do {
          const page = await kv.list(cursor ? { cursor } : {});
          await Promise.all(page.keys.map((k) => kv.delete(k.name)));
          cursor = page.list_complete ? undefined : page.cursor;
        } while (cursor);
      }
      await Promise.all(Object.entries(put ?? {}).map(([k, v]) => (v === null ? kv.delete(k) : kv.put(k, v))));
    }
    return new Response(snapshot, { headers: { "content-type": "application/json" } });
  },
};`;

// A router worker: `directory` is "kv" (the real namespace) or "proxy" (through kv-proxy).
export const routerWorker = (name, { ttl = "30", directory = "kv", outbound = upstream, vars = {} } = {}) => ({
  name,
  modules: true,
  scriptPath,
  compatibilityDate: "2025-04-01",
  bindings: { ...VARS, JWKS_URL: jwksUrl(name), CELL_CACHE_TTL_SECONDS: ttl, ...vars },
  ...(directory === "kv"
    ? { kvNamespaces: { DIRECTORY: "directory" } }
    : { serviceBindings: { DIRECTORY: { name: "kv-proxy", entrypoint: "Kv" } } }),
  ...(outbound ? { outboundService: outbound } : {}),
});

export async function start(routers) {
  const mf = new Miniflare({
    cf: false, // no cf.json download; every request passes its own cf object
    workers: [
      ...routers,
      { name: "kv-proxy", modules: true, script: KV_PROXY, compatibilityDate: "2025-04-01", kvNamespaces: { DIRECTORY: "directory" } },
    ],
  });
  await mf.ready;
  const kvWrite = async (body) => {
    const res = await mf.dispatchFetch("http://kv-proxy.test/kv", {
      method: "POST", body: JSON.stringify(body), headers: { "MF-Route-Override": "kv-proxy" },
    });
    assert.equal(res.status, 200, await res.text());
  };
  return {
    mf,
    kvWrite,
    // BASE_KV plus overrides; an override of null means "no such key"
    setKV: (overrides = {}) => kvWrite({ clear: true, put: { ...BASE_KV, ...overrides } }),
    async proxyAdmin(path) {
      const res = await mf.dispatchFetch(`http://kv-proxy.test${path}`, { headers: { "MF-Route-Override": "kv-proxy" } });
      return res.json();
    },
    async send(path, { worker = "router", country = "DE", headers = {}, method = "GET", body, cf } = {}) {
      const h = { ...headers, "MF-Route-Override": worker };
      const init = { method, headers: h, cf: cf ?? (country === null ? {} : { country }), redirect: "manual" };
      if (body !== undefined) {
        init.body = body;
        if (body instanceof ReadableStream) init.duplex = "half";
      }
      const before = captured.length;
      const res = await mf.dispatchFetch(`https://api.myark.io${path}`, init);
      const text = await res.text();
      const ups = captured.slice(before).filter((c) => c.path === new URL(`https://x${path}`).pathname);
      return { res, text, up: ups.at(-1), ups };
    },
  };
}

export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The Worker's own error answers (README): any other 5xx would be a bug.
export const DOCUMENTED_ERRORS = {
  400: ["body_not_allowed"],
  401: ["token_invalid"],
  500: ["config_invalid"],
  502: ["upstream_unreachable"],
  503: ["cell_unavailable", "no_cell_for_zone", "directory_unavailable", "keys_unavailable", "home_zone_missing", "home_cell_unknown", "zone_mismatch"],
};
