// Router tests: the real worker (src/worker.js) runs in workerd through Miniflare 4.
//
// One Miniflare instance, several workers sharing one KV namespace ("directory"):
//   router         real KV binding, CELL_CACHE_TTL_SECONDS="0" (every request re-reads the
//                  table, so each test just rewrites KV): routing table and property test
//   router-counted DIRECTORY = kv-proxy (counts every get/list), TTL 30: hot-path KV reads
//   router-faulty  DIRECTORY = kv-proxy, TTL 1: KV failures with a warm cache
//   router-cold    DIRECTORY = kv-proxy, TTL 30: KV failure before any table was loaded
//   router-burst   DIRECTORY = kv-proxy, TTL 30: concurrent cold requests share one refresh
//   router-direct  real KV, no outbound interception: a cell on a closed loopback port
//   kv-proxy       a WorkerEntrypoint whose get()/list() forward to the real KV namespace,
//                  count calls, and throw or stall on demand (admin over its fetch handler)
// The router code has no test hook: a failing KV is a binding whose methods throw.
// Upstream fetches (cells, control plane) leave workerd through `outboundService`, a Node
// function here that records each request and answers with a small body.

import { test, describe, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const scriptPath = fileURLToPath(new URL("../src/worker.js", import.meta.url));

const CONTROL_PLANE = "https://auth.myark.io";
const COUNTRY_ZONES = { DE: "eu", FR: "eu", IE: "eu", NL: "eu", US: "us", CA: "us", IN: "ap" };
const VARS = {
  CONTROL_PLANE_ORIGIN: CONTROL_PLANE,
  DEFAULT_ZONE: "us",
  COUNTRY_ZONES: JSON.stringify(COUNTRY_ZONES),
};

const CELLS = {
  "eu-central-1": { zone: "eu", default: true },
  "eu-west-1": { zone: "eu" },
  "eu-north-1": { zone: "eu" },
  "us-east-1": { zone: "us", default: true },
  "us-west-2": { zone: "us" },
  "ap-south-1": { zone: "ap" }, // a zone with no default cell
};
const originOf = (name) => `https://${name}.api.myark.io`;
const BASE_KV = {
  ...Object.fromEntries(
    Object.entries(CELLS).map(([name, c]) => [
      `cell:${name}`,
      JSON.stringify({ name, zone: c.zone, origin: originOf(name), default: c.default === true }),
    ]),
  ),
  "status:eu-west-1": "draining",
  "status:us-west-2": "down",
  "status:eu-central-1": "active",
  "user:alice": "eu-west-1",
  "user:bob": "us-east-1",
  "user:ghost": "eu-nowhere-9",
  "tenant:acme": "eu-north-1",
};
const EU_ORIGINS = new Set(Object.keys(CELLS).filter((n) => CELLS[n].zone === "eu").map(originOf));

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

// ---- upstream capture -----------------------------------------------------------
const captured = [];
async function upstream(req) {
  const u = new URL(req.url);
  const body = Buffer.from(await req.arrayBuffer());
  captured.push({
    origin: u.origin,
    url: req.url,
    method: req.method,
    headers: Object.fromEntries(req.headers),
    bodyLength: body.length,
    bodySha: createHash("sha256").update(body).digest("hex"),
  });
  if (u.pathname === "/redirect") {
    return new Response(null, { status: 302, headers: { location: "https://elsewhere.example/" } });
  }
  return new Response(`upstream ${u.host}`, {
    headers: { "content-type": "text/plain", "x-upstream-host": u.host },
  });
}

// ---- helpers ----------------------------------------------------------------------
const b64url = (s) => Buffer.from(s).toString("base64url");
const jwt = (payload, header = { alg: "RS256", typ: "JWT" }) =>
  `${b64url(JSON.stringify(header))}.${b64url(typeof payload === "string" ? payload : JSON.stringify(payload))}.c2lnbmF0dXJl`;
const bearer = (payload) => ({ authorization: `Bearer ${jwt(payload)}` });

let mf;

// Rewrites the directory namespace (through the kv-proxy worker: one round trip).
// BASE_KV plus overrides; an override of null means "no such key".
async function setKV(overrides = {}) {
  await kvWrite({ clear: true, put: { ...BASE_KV, ...overrides } });
}
async function kvWrite(body) {
  const res = await mf.dispatchFetch("http://kv-proxy.test/kv", {
    method: "POST", body: JSON.stringify(body), headers: { "MF-Route-Override": "kv-proxy" },
  });
  assert.equal(res.status, 200, await res.text());
}

async function send(path, { worker, country = "DE", headers = {}, method = "GET", body, cf } = {}) {
  const h = { ...headers };
  if (worker) h["MF-Route-Override"] = worker;
  const init = { method, headers: h, cf: cf ?? (country === null ? {} : { country }), redirect: "manual" };
  if (body !== undefined) {
    init.body = body;
    if (body instanceof ReadableStream) init.duplex = "half";
  }
  const before = captured.length;
  const res = await mf.dispatchFetch(`https://api.myark.io${path}`, init);
  const text = await res.text();
  const ups = captured.slice(before);
  return { res, text, up: ups.at(-1), ups };
}

async function proxyAdmin(path) {
  const res = await mf.dispatchFetch(`http://kv-proxy.test${path}`, {
    headers: { "MF-Route-Override": "kv-proxy" },
  });
  return res.json();
}

const routerWorker = (name, ttl, directory, outbound = upstream) => ({
  name,
  modules: true,
  scriptPath,
  compatibilityDate: "2025-04-01",
  bindings: { ...VARS, CELL_CACHE_TTL_SECONDS: ttl },
  ...(directory === "kv"
    ? { kvNamespaces: { DIRECTORY: "directory" } }
    : { serviceBindings: { DIRECTORY: { name: "kv-proxy", entrypoint: "Kv" } } }),
  ...(outbound ? { outboundService: outbound } : {}),
});

before(async () => {
  mf = new Miniflare({
    cf: false, // no cf.json download; every request passes its own cf object
    workers: [
      routerWorker("router", "0", "kv"),
      routerWorker("router-counted", "30", "proxy"),
      routerWorker("router-faulty", "1", "proxy"),
      routerWorker("router-cold", "30", "proxy"),
      routerWorker("router-burst", "30", "proxy"),
      // no outbound interception: its only test targets a closed loopback port
      routerWorker("router-direct", "0", "kv", null),
      {
        name: "kv-proxy",
        modules: true,
        script: KV_PROXY,
        compatibilityDate: "2025-04-01",
        kvNamespaces: { DIRECTORY: "directory" },
      },
    ],
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

// ---- the routing table --------------------------------------------------------------
// expect: forwarded -> {origin, cell, reason}; error -> {status, error, retry, ...fields}
const CASES = [
  // claim
  { name: "Cognito's custom:home_cell claim routes too", headers: bearer({ sub: "u1", "custom:home_cell": "eu-central-1" }),
    expect: { cell: "eu-central-1", reason: "claim" } },
  { name: "claim routes to the named cell", headers: bearer({ sub: "u1", home_cell: "eu-central-1" }),
    expect: { cell: "eu-central-1", reason: "claim" } },
  { name: "claim wins over the client's country zone (US cell from DE)", country: "DE",
    headers: bearer({ sub: "u1", home_cell: "us-east-1" }), expect: { cell: "us-east-1", reason: "claim" } },
  { name: "claim wins over cookie and directory", headers: { ...bearer({ sub: "alice", home_cell: "eu-north-1" }), cookie: "myark_cell=us-east-1" },
    expect: { cell: "eu-north-1", reason: "claim" } },
  { name: "draining cell still routes its users", country: "US",
    headers: bearer({ sub: "u1", home_cell: "eu-west-1" }), expect: { cell: "eu-west-1", reason: "claim" } },
  { name: "home_zone claim consistent with home_cell", headers: bearer({ sub: "u1", home_cell: "eu-north-1", home_zone: "eu" }),
    expect: { cell: "eu-north-1", reason: "claim" } },
  // cookie
  { name: "cookie routes when there is no token", country: "US", headers: { cookie: "myark_cell=eu-central-1" },
    expect: { cell: "eu-central-1", reason: "cookie" } },
  { name: "cookie found among other cookies", headers: { cookie: "a=1; myark_cell=us-east-1; theme=dark" },
    expect: { cell: "us-east-1", reason: "cookie" } },
  { name: "cookie wins over directory", headers: { ...bearer({ sub: "alice" }), cookie: "myark_cell=eu-north-1" },
    expect: { cell: "eu-north-1", reason: "cookie" } },
  // directory
  { name: "directory lookup by sub", country: "US", headers: bearer({ sub: "alice" }),
    expect: { cell: "eu-west-1", reason: "directory" } },
  { name: "directory lookup: US user from DE goes home to US", country: "DE", headers: bearer({ sub: "bob" }),
    expect: { cell: "us-east-1", reason: "directory" } },
  { name: "directory by tenant when the user has no entry", country: "US", headers: bearer({ sub: "carol", tenant_id: "acme" }),
    expect: { cell: "eu-north-1", reason: "directory" } },
  { name: "directory miss -> default cell of the country zone", country: "DE", headers: bearer({ sub: "nobody" }),
    expect: { cell: "eu-central-1", reason: "default" } },
  { name: "directory names an unknown cell -> zone default", country: "FR", headers: bearer({ sub: "ghost" }),
    expect: { cell: "eu-central-1", reason: "default" } },
  // anonymous by country
  { name: "anonymous DE -> EU default", country: "DE", expect: { cell: "eu-central-1", reason: "default" } },
  { name: "anonymous FR -> EU default", country: "FR", expect: { cell: "eu-central-1", reason: "default" } },
  { name: "anonymous US -> US default", country: "US", expect: { cell: "us-east-1", reason: "default" } },
  { name: "anonymous unlisted country (BR) -> DEFAULT_ZONE", country: "BR", expect: { cell: "us-east-1", reason: "default" } },
  { name: "anonymous with no cf.country -> DEFAULT_ZONE", country: null, expect: { cell: "us-east-1", reason: "default" } },
  { name: "zone without a default cell -> 503 no_cell_for_zone", country: "IN",
    expect: { status: 503, error: "no_cell_for_zone", zone: "ap", retry: true } },
  // control plane
  { name: "/auth goes to the control plane with query", path: "/auth?x=1", headers: bearer({ home_cell: "us-east-1" }),
    expect: { url: `${CONTROL_PLANE}/auth?x=1`, reason: "auth" } },
  { name: "/auth/login goes to the control plane with path and query", path: "/auth/login?next=%2Fhome&y=2",
    expect: { url: `${CONTROL_PLANE}/auth/login?next=%2Fhome&y=2`, reason: "auth" } },
  { name: "/authority is not /auth", path: "/authority", country: "US", expect: { cell: "us-east-1", reason: "default" } },
  // status
  { name: "down cell -> 503 cell_unavailable with Retry-After", headers: bearer({ home_cell: "us-west-2" }),
    expect: { status: 503, error: "cell_unavailable", cell: "us-west-2", retry: true } },
  { name: "down home cell never fails over (cookie/directory/default ignored)", country: "US",
    headers: { ...bearer({ sub: "bob", home_cell: "us-west-2" }), cookie: "myark_cell=us-east-1" },
    expect: { status: 503, error: "cell_unavailable", cell: "us-west-2", retry: true } },
  { name: "down anonymous default cell -> 503, no other zone", country: "DE", kv: { "status:eu-central-1": "down" },
    expect: { status: 503, error: "cell_unavailable", cell: "eu-central-1", retry: true } },
  { name: "down via directory -> 503", kv: { "status:eu-west-1": "down" }, headers: bearer({ sub: "alice" }),
    expect: { status: 503, error: "cell_unavailable", cell: "eu-west-1", retry: true } },
  { name: "unknown status value is treated as active", kv: { "status:eu-north-1": "bogus" },
    headers: bearer({ home_cell: "eu-north-1" }), expect: { cell: "eu-north-1", reason: "claim" } },
  // unknown cells fall through, never across zones to a guess
  { name: "unknown cell in claim falls through to cookie", headers: { ...bearer({ home_cell: "eu-nowhere-9" }), cookie: "myark_cell=eu-north-1" },
    expect: { cell: "eu-north-1", reason: "cookie" } },
  { name: "unknown cell in claim falls through to directory", country: "US", headers: bearer({ sub: "alice", home_cell: "xx-1" }),
    expect: { cell: "eu-west-1", reason: "directory" } },
  { name: "unknown cell in claim + cookie, EU country -> EU default", country: "DE",
    headers: { ...bearer({ home_cell: "eu-nowhere-9" }), cookie: "myark_cell=eu-gone-2" },
    expect: { cell: "eu-central-1", reason: "default" } },
  { name: "cell record whose name disagrees with its key is unknown", country: "DE",
    kv: { "cell:eu-north-1": JSON.stringify({ name: "eu-other", zone: "eu", origin: originOf("eu-north-1") }) },
    headers: bearer({ home_cell: "eu-north-1" }), expect: { cell: "eu-central-1", reason: "default" } },
  { name: "home_zone claim pins residency: US cookie ignored, EU default", country: "US",
    headers: { ...bearer({ sub: "nobody", home_zone: "eu" }), cookie: "myark_cell=us-east-1" },
    expect: { cell: "eu-central-1", reason: "default" } },
  { name: "zone claim contradicting home_cell: claim skipped, stays in zone", country: "US",
    headers: bearer({ home_cell: "us-east-1", zone: "eu" }), expect: { cell: "eu-central-1", reason: "default" } },
  // malformed tokens: ignored, next source used, never a crash
  { name: "malformed token: 2 parts", headers: { authorization: "Bearer abc.def", cookie: "myark_cell=eu-north-1" },
    expect: { cell: "eu-north-1", reason: "cookie" } },
  { name: "malformed token: 4 parts", country: "US", headers: { authorization: `Bearer ${jwt({ home_cell: "eu-north-1" })}.x` },
    expect: { cell: "us-east-1", reason: "default" } },
  { name: "malformed token: bad base64", country: "FR", headers: { authorization: "Bearer aaa.!!!$$.sig" },
    expect: { cell: "eu-central-1", reason: "default" } },
  { name: "malformed token: payload not JSON", headers: { authorization: `Bearer aaa.${b64url("{home_cell:")}.sig`, cookie: "myark_cell=us-east-1" },
    expect: { cell: "us-east-1", reason: "cookie" } },
  { name: "malformed token: payload JSON array/null", country: "US", headers: { authorization: `Bearer aaa.${b64url("null")}.sig` },
    expect: { cell: "us-east-1", reason: "default" } },
  { name: "malformed token: invalid UTF-8 payload", country: "DE",
    headers: { authorization: `Bearer aaa.${Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString("base64url")}.sig` },
    expect: { cell: "eu-central-1", reason: "default" } },
  { name: "home_cell claim not a string -> next source (directory by sub)", country: "US",
    headers: bearer({ sub: "alice", home_cell: ["us-east-1"] }), expect: { cell: "eu-west-1", reason: "directory" } },
  { name: "non-Bearer Authorization is ignored", country: "DE", headers: { authorization: "Basic dXNlcjpwYXNz" },
    expect: { cell: "eu-central-1", reason: "default" } },
  // headers, methods, bodies
  { name: "client x-myark-* headers are stripped, not forwarded", country: "DE",
    headers: { "x-myark-cell": "us-east-1", "x-myark-zone": "us", "X-MyArk-Route-Reason": "claim", "x-myark-debug": "1", "x-other": "kept" },
    expect: { cell: "eu-central-1", reason: "default", upHeaders: { "x-other": "kept" } } },
  { name: "x-myark-* stripped on /auth too", path: "/auth/token", headers: { "x-myark-cell": "us-east-1", "x-myark-admin": "1" },
    expect: { url: `${CONTROL_PLANE}/auth/token`, reason: "auth" } },
  { name: "Authorization and cookies are forwarded unchanged", headers: { ...bearer({ home_cell: "eu-central-1" }), cookie: "myark_cell=eu-central-1; s=1" },
    expect: { cell: "eu-central-1", reason: "claim", upHeaders: { cookie: "myark_cell=eu-central-1; s=1" } } },
  { name: "path and query preserved to the cell", path: "/v1/items/42?limit=10&q=a%20b", headers: bearer({ home_cell: "eu-north-1" }),
    expect: { cell: "eu-north-1", reason: "claim" } },
  { name: "DELETE passes through", method: "DELETE", path: "/v1/items/42", headers: bearer({ home_cell: "us-east-1" }),
    expect: { cell: "us-east-1", reason: "claim" } },
  { name: "PUT with body passes through", method: "PUT", path: "/v1/items/42", body: '{"a":1}', headers: bearer({ home_cell: "us-east-1" }),
    expect: { cell: "us-east-1", reason: "claim" } },
  { name: "upstream redirect is returned, not followed", path: "/redirect", headers: bearer({ home_cell: "eu-central-1" }),
    expect: { cell: "eu-central-1", reason: "claim", status: 302 } },
];

describe("routing table", () => {
  beforeEach(() => setKV());
  for (const c of CASES) {
    test(c.name, async () => {
      if (c.kv) await setKV(c.kv);
      const path = c.path ?? "/v1/me";
      const { res, text, up, ups } = await send(path, {
        country: c.country === undefined ? "DE" : c.country,
        headers: c.headers,
        method: c.method,
        body: c.body,
      });
      const e = c.expect;
      if (e.error) {
        assert.equal(res.status, e.status, text);
        assert.equal(ups.length, 0, "an error answer must not reach any upstream");
        assert.match(res.headers.get("content-type"), /^application\/json/);
        const body = JSON.parse(text);
        assert.equal(body.error, e.error);
        for (const k of ["cell", "zone"]) if (k in e) assert.equal(body[k], e[k]);
        if (e.retry) assert.equal(res.headers.get("retry-after"), "30");
        return;
      }
      assert.equal(res.status, e.status ?? 200, text);
      assert.equal(ups.length, 1, "exactly one upstream request");
      const expectedUrl = e.url ?? originOf(e.cell) + path;
      assert.equal(up.url, expectedUrl);
      assert.equal(up.method, c.method ?? "GET");
      assert.equal(up.headers["x-myark-route-reason"], e.reason);
      for (const name of Object.keys(up.headers)) {
        if (name.startsWith("x-myark-")) assert.ok(["x-myark-cell", "x-myark-route-reason"].includes(name), `leaked ${name}`);
      }
      if (e.cell) {
        assert.equal(up.headers["x-myark-cell"], e.cell);
        assert.equal(res.headers.get("x-myark-cell"), e.cell);
      } else {
        assert.equal(up.headers["x-myark-cell"], undefined);
      }
      for (const [k, v] of Object.entries(e.upHeaders ?? {})) assert.equal(up.headers[k], v);
      if (c.headers?.authorization) assert.equal(up.headers.authorization, c.headers.authorization);
      if (c.body !== undefined) assert.equal(up.bodySha, createHash("sha256").update(c.body).digest("hex"));
      if (res.status === 200) assert.equal(text, `upstream ${new URL(expectedUrl).host}`);
    });
  }
});

test("unreachable cell (connection refused on loopback) -> 502 JSON, no failover", async () => {
  await setKV({ "cell:eu-broken-1": JSON.stringify({ name: "eu-broken-1", zone: "eu", origin: "http://127.0.0.1:9" }) });
  const r = await send("/v1/me", { worker: "router-direct", country: "DE", headers: bearer({ home_cell: "eu-broken-1" }) });
  assert.equal(r.res.status, 502, r.text);
  assert.match(r.res.headers.get("content-type"), /^application\/json/);
  assert.equal(r.res.headers.get("retry-after"), "30");
  assert.deepEqual(JSON.parse(r.text), { error: "upstream_unreachable", cell: "eu-broken-1" });
  assert.equal(r.ups.length, 0);
});

describe("bodies", () => {
  before(() => setKV());
  test("POST body (1 MiB binary) forwarded intact", async () => {
    const data = randomBytes(1 << 20);
    const { res, up } = await send("/v1/upload", {
      method: "POST", body: data, headers: { ...bearer({ home_cell: "eu-central-1" }), "content-type": "application/octet-stream" },
    });
    assert.equal(res.status, 200);
    assert.equal(up.method, "POST");
    assert.equal(up.bodyLength, data.length);
    assert.equal(up.bodySha, createHash("sha256").update(data).digest("hex"));
  });
  test("streamed (chunked) POST body forwarded intact", async () => {
    const chunks = Array.from({ length: 64 }, (_, i) => randomBytes(4096 + i));
    let i = 0;
    const stream = new ReadableStream({
      pull(ctrl) {
        if (i < chunks.length) ctrl.enqueue(chunks[i++]);
        else ctrl.close();
      },
    });
    const { res, up } = await send("/v1/stream", { method: "POST", body: stream, headers: bearer({ home_cell: "us-east-1" }) });
    assert.equal(res.status, 200);
    const all = Buffer.concat(chunks);
    assert.equal(up.bodyLength, all.length);
    assert.equal(up.bodySha, createHash("sha256").update(all).digest("hex"));
  });
});

// ---- KV read counting and KV failures (through the kv-proxy binding) ------------------
describe("KV reads and failures", () => {
  before(() => setKV());
  beforeEach(() => proxyAdmin("/reset"));

  test("hot path: warm cache + token naming a known cell -> zero KV reads", async () => {
    const warm = await send("/v1/me", { worker: "router-counted", headers: bearer({ home_cell: "eu-central-1" }) });
    assert.equal(warm.res.status, 200);
    let s = await proxyAdmin("/reset");
    assert.ok(s.list.length >= 2, "the first request loaded the table");
    for (let i = 0; i < 50; i++) {
      const cell = i % 2 ? "eu-central-1" : "us-east-1";
      const r = await send(`/v1/x/${i}`, { worker: "router-counted", headers: bearer({ sub: "alice", home_cell: cell }) });
      assert.equal(r.res.status, 200);
      assert.equal(r.up.origin, originOf(cell));
    }
    // cookie and anonymous traffic also read nothing while the cache is warm
    await send("/v1/me", { worker: "router-counted", headers: { cookie: "myark_cell=eu-north-1" } });
    await send("/v1/me", { worker: "router-counted", country: "FR" });
    s = await proxyAdmin("/stats");
    assert.deepEqual(s, { get: [], list: [] });
  });

  test("directory path reads exactly one key", async () => {
    await send("/v1/me", { worker: "router-counted", headers: bearer({ home_cell: "eu-central-1" }) }); // warm
    await proxyAdmin("/reset");
    const r = await send("/v1/me", { worker: "router-counted", headers: bearer({ sub: "alice" }) });
    assert.equal(r.up.origin, originOf("eu-west-1"));
    assert.deepEqual(await proxyAdmin("/stats"), { get: ["user:alice"], list: [] });
  });

  test("concurrent cold requests share one in-flight refresh", async () => {
    await proxyAdmin("/stall?ms=150"); // every list() takes 150 ms: the requests overlap
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send(`/v1/burst/${i}`, { worker: "router-burst", headers: bearer({ home_cell: i % 2 ? "eu-west-1" : "us-east-1" }) }),
      ),
    );
    for (const [i, r] of results.entries()) {
      assert.equal(r.res.status, 200, r.text);
      assert.equal(r.res.headers.get("x-myark-cell"), i % 2 ? "eu-west-1" : "us-east-1");
    }
    const s = await proxyAdmin("/stats");
    assert.deepEqual(s.list.sort(), ["cell:", "status:"], "one refresh: one list per prefix");
  });

  test("KV failure with no cached table -> 503 directory_unavailable, then recovers", async () => {
    await proxyAdmin("/fail?mode=all");
    const r = await send("/v1/me", { worker: "router-cold", headers: bearer({ home_cell: "eu-central-1" }) });
    assert.equal(r.res.status, 503);
    assert.equal(r.ups.length, 0);
    assert.match(r.res.headers.get("content-type"), /^application\/json/);
    assert.equal(r.res.headers.get("retry-after"), "30");
    assert.deepEqual(JSON.parse(r.text), { error: "directory_unavailable" });
    await proxyAdmin("/fail?mode=");
    const ok = await send("/v1/me", { worker: "router-cold", headers: bearer({ home_cell: "eu-central-1" }) });
    assert.equal(ok.res.status, 200);
    assert.equal(ok.up.origin, originOf("eu-central-1"));
  });

  test("KV failure with a stale cached table -> last table is used", async () => {
    const warm = await send("/v1/me", { worker: "router-faulty", headers: bearer({ home_cell: "eu-north-1" }) });
    assert.equal(warm.res.status, 200);
    await proxyAdmin("/fail?mode=list");
    await new Promise((r) => setTimeout(r, 1100)); // TTL is 1 s: the table is now stale
    const r = await send("/v1/me", { worker: "router-faulty", headers: bearer({ home_cell: "eu-north-1" }) });
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.up.origin, originOf("eu-north-1"));
    const s = await proxyAdmin("/stats");
    assert.ok(s.list.length >= 1, "a refresh was attempted and failed");
    await proxyAdmin("/fail?mode=all");
    const anon = await send("/v1/me", { worker: "router-faulty", country: "DE" });
    assert.equal(anon.up.origin, originOf("eu-central-1"));
  });

  test("user: lookup failure -> zone default of the client's country", async () => {
    await send("/v1/me", { worker: "router-faulty", country: "DE" }); // warm
    await proxyAdmin("/fail?mode=user");
    const eu = await send("/v1/me", { worker: "router-faulty", country: "DE", headers: bearer({ sub: "bob" }) });
    assert.equal(eu.res.status, 200, eu.text);
    assert.equal(eu.up.origin, originOf("eu-central-1"));
    assert.equal(eu.up.headers["x-myark-route-reason"], "default");
    const pinned = await send("/v1/me", { worker: "router-faulty", country: "US", headers: bearer({ sub: "alice", home_zone: "eu" }) });
    assert.equal(pinned.up.origin, originOf("eu-central-1"), "a zone claim keeps the fallback in the user's zone");
    const s = await proxyAdmin("/stats");
    assert.ok(s.get.includes("user:bob"));
  });
});

// ---- property: an EU-homed user never reaches a US origin ------------------------------
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("property: residency", () => {
  before(() => setKV());
  const seed = Number(process.env.PROP_SEED ?? 20240611);
  const rounds = Number(process.env.PROP_ROUNDS ?? 50);
  const perRound = 16;
  const CELL_NAMES = Object.keys(CELLS);
  const inZone = (z) => CELL_NAMES.filter((n) => CELLS[n].zone === z);
  const countries = { eu: ["DE", "FR", "IE", "NL"], us: ["US", "CA"], other: ["BR", "IN", "JP"] };

  test(`EU-homed users never reach a US origin (${rounds * perRound} requests, seed ${seed})`, async () => {
    const r = rng(seed);
    const pick = (xs) => xs[Math.floor(r() * xs.length)];
    const junkToken = () => pick(["Bearer abc.def", "Bearer a.!!.b", `Bearer a.${b64url("[1]")}.s`, "Basic Zm9v", `Bearer x.${b64url("{")}.y`]);
    const unknownCell = () => pick(["eu-nowhere-9", "us-gone-3", "zz-1", "", "EU-CENTRAL-1"]);
    let forwardedHome = 0;
    let unavailable = 0;
    for (let round = 0; round < rounds; round++) {
      const statuses = {};
      for (const n of CELL_NAMES) statuses[`status:${n}`] = pick(["active", "draining", "down", null]);
      await kvWrite({ put: statuses }); // every status: key (null = no key = active)
      const down = (n) => statuses[`status:${n}`] === "down";
      const batch = [];
      const kvUser = {};
      for (let k = 0; k < perRound; k++) {
        const homeZone = r() < 0.7 ? "eu" : "us"; // mostly EU, some US to check the mirror image
        const other = homeZone === "eu" ? "us" : "eu";
        const home = pick(inZone(homeZone));
        const mode = pick(["claim", "cookie", "directory", "country"]);
        const headers = {};
        const payload = {};
        let tokenValid = false;
        const sub = `prop-${round}-${k}`;
        // higher-priority sources than `mode`: absent, junk, or naming an unknown cell
        if (mode === "claim") { payload.home_cell = home; tokenValid = true; }
        else if (r() < 0.5) {
          const v = pick([undefined, unknownCell(), 42, null]);
          if (v !== undefined) payload.home_cell = v;
          tokenValid = true;
        }
        if (mode === "cookie") headers.cookie = `x=1; myark_cell=${home}`;
        else if (mode === "claim") headers.cookie = `myark_cell=${pick(inZone(other))}`; // loses to the claim
        else if (r() < 0.5) headers.cookie = `myark_cell=${unknownCell()}`;
        if (mode === "directory") { tokenValid = true; payload.sub = sub; kvUser[`user:${sub}`] = home; }
        else if (tokenValid && r() < 0.5) { payload.sub = sub; kvUser[`user:${sub}`] = pick(mode === "country" ? ["zz-9"] : ["zz-9", home]); }
        if (r() < 0.3 && tokenValid) payload.home_zone = homeZone;
        if (tokenValid) headers.authorization = `Bearer ${jwt(payload)}`;
        else if (r() < 0.5) headers.authorization = junkToken();
        // spoofed routing headers pointing at the other zone
        if (r() < 0.5) { headers["x-myark-cell"] = pick(inZone(other)); headers["x-myark-zone"] = other; }
        const country = mode === "country" ? pick(countries[homeZone]) : pick([...countries.eu, ...countries.us, ...countries.other]);
        const expected = mode === "country" ? (homeZone === "eu" ? "eu-central-1" : "us-east-1") : home;
        const path = `/v1/p/${round}/${k}`;
        batch.push({ path, homeZone, expected, country, headers, method: pick(["GET", "POST"]), ctx: { mode, home, country, headers, payload } });
      }
      await kvWrite({ put: kvUser });
      const results = await Promise.all(batch.map((q) => send(q.path, q)));
      for (const [i, { res, text }] of results.entries()) {
        const { path, homeZone, expected } = batch[i];
        const ups = captured.filter((c) => new URL(c.url).pathname === path);
        const ctx = JSON.stringify({ ...batch[i].ctx, statuses });
        for (const u of ups) {
          if (homeZone === "eu") assert.ok(EU_ORIGINS.has(u.origin), `EU user sent to ${u.origin}: ${ctx}`);
          else assert.ok(!EU_ORIGINS.has(u.origin), `US user sent to ${u.origin}: ${ctx}`);
        }
        if (down(expected)) {
          assert.equal(res.status, 503, ctx);
          assert.deepEqual(JSON.parse(text), { error: "cell_unavailable", cell: expected });
          assert.equal(ups.length, 0);
          unavailable++;
        } else {
          assert.equal(res.status, 200, `${text} ${ctx}`);
          assert.equal(ups.length, 1);
          assert.equal(ups[0].origin, originOf(expected), ctx);
          forwardedHome++;
        }
      }
    }
    assert.ok(forwardedHome > 0 && unavailable > 0, "both outcomes were exercised");
  });
});
