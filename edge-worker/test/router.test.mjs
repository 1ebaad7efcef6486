// Router tests in workerd (fixtures: support.mjs). The routing table runs against the real KV with
// CELL_CACHE_TTL_SECONDS="0" (every request re-reads the table, so each test just rewrites KV).

import { test, describe, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import {
  AUDIENCE, CONTROL_PLANE, ISSUER, b64url, bearer, captured, jwks, originOf, routerWorker, start, token, user,
} from "./support.mjs";

let h; // {mf, send, setKV, kvWrite, proxyAdmin}

before(async () => {
  h = await start([
    routerWorker("router", { ttl: "0" }),
    routerWorker("router-counted", { directory: "proxy" }),
    routerWorker("router-faulty", { ttl: "1", directory: "proxy", vars: { KV_TIMEOUT_MS: "300" } }),
    routerWorker("router-cold", { directory: "proxy" }),
    routerWorker("router-burst", { directory: "proxy" }),
    routerWorker("router-keys", { vars: { JWKS_MIN_REFRESH_SECONDS: "1" } }),
    routerWorker("router-rotate", { vars: { JWKS_MIN_REFRESH_SECONDS: "0" } }),
    routerWorker("router-nokeys", {}),
    routerWorker("router-refresh", { vars: { JWKS_REFRESH_SECONDS: "1", JWKS_MIN_REFRESH_SECONDS: "0" } }),
    routerWorker("router-noconfig", { vars: { TOKEN_ISSUER: "" } }),
    // no outbound interception: its only test targets a closed loopback port
    routerWorker("router-direct", { ttl: "0", outbound: null, vars: { JWKS_URL: "http://127.0.0.1:9/jwks" } }),
  ]);
});

after(async () => {
  await h?.mf.dispose();
});

const EU = (sub, cell, extra) => bearer(user(sub, "eu", cell, extra));
const US = (sub, cell, extra) => bearer(user(sub, "us", cell, extra));
const nowS = () => Math.floor(Date.now() / 1000);
const invalid = (reason) => ({ status: 401, error: "token_invalid", reason });
const unavailable = (error, extra = {}) => ({ status: 503, error, retry: true, ...extra });

// ---- the routing table --------------------------------------------------------------
// expect: forwarded -> {cell, reason} or {url, reason}; error -> {status, error, retry, ...fields}
const CASES = [
  // signed in: verified claim
  { name: "verified custom:home_cell routes to the named cell", headers: EU("u1", "eu-central-1"),
    expect: { cell: "eu-central-1", reason: "claim" } },
  { name: "plain home_cell/home_zone claims (other issuers' spelling) route too",
    headers: bearer({ sub: "u1", home_zone: "eu", home_cell: "eu-north-1" }), expect: { cell: "eu-north-1", reason: "claim" } },
  { name: "an EU user travelling in the US reaches the EU home cell", country: "US",
    headers: EU("u1", "eu-central-1"), expect: { cell: "eu-central-1", reason: "claim" } },
  { name: "an access token (client_id, token_use=access) routes too",
    headers: bearer({ ...user("u1", "eu", "eu-north-1"), token_use: "access", aud: undefined, client_id: AUDIENCE }),
    expect: { cell: "eu-north-1", reason: "claim" } },
  { name: "claim naming a cell of another zone -> 503 zone_mismatch, never routed", country: "US",
    headers: EU("u1", "us-east-1"), expect: unavailable("zone_mismatch") },
  { name: "a cookie never moves a signed-in user (claim wins)",
    headers: { ...EU("alice", "eu-north-1"), cookie: "myark_cell=us-east-1" }, expect: { cell: "eu-north-1", reason: "claim" } },
  { name: "a draining home cell still serves its users", country: "US",
    headers: EU("u1", "eu-west-1"), expect: { cell: "eu-west-1", reason: "claim" } },
  { name: "home cell down -> 503 cell_unavailable, no failover (cookie, directory ignored)",
    headers: { ...US("bob", "us-west-2"), cookie: "myark_cell=us-east-1" }, expect: unavailable("cell_unavailable", { cell: "us-west-2" }) },
  { name: "home cell with an unreadable status counts as down", kv: { "status:eu-north-1": "bogus" },
    headers: EU("u1", "eu-north-1"), expect: unavailable("cell_unavailable", { cell: "eu-north-1" }) },
  { name: "claim naming an unknown cell -> 503 home_cell_unknown, not the country default",
    headers: EU("u1", "eu-nowhere-9"), expect: unavailable("home_cell_unknown") },
  { name: "claim naming a cell whose record is corrupt -> 503 home_cell_unknown",
    kv: { "cell:eu-north-1": "{not json" }, headers: EU("u1", "eu-north-1"), expect: unavailable("home_cell_unknown") },
  { name: "cell record whose name disagrees with its key is unknown",
    kv: { "cell:eu-north-1": JSON.stringify({ name: "eu-other", zone: "eu", origin: originOf("eu-north-1") }) },
    headers: EU("u1", "eu-north-1"), expect: unavailable("home_cell_unknown") },
  { name: "a verified token without home_zone -> 503 home_zone_missing, not the country",
    headers: bearer({ sub: "u1", "custom:home_cell": "eu-central-1" }), expect: unavailable("home_zone_missing") },
  // signed in: directory
  { name: "directory by sub (EU user from the US)", country: "US", headers: EU("alice"),
    expect: { cell: "eu-west-1", reason: "directory" } },
  { name: "directory wins over a cookie", headers: { ...EU("alice"), cookie: "myark_cell=eu-north-1" },
    expect: { cell: "eu-west-1", reason: "directory" } },
  { name: "directory names a cell of another zone -> 503 zone_mismatch", headers: EU("bob"),
    expect: unavailable("zone_mismatch") },
  { name: "directory by tenant when the user has no entry", country: "US", headers: EU("carol", undefined, { "custom:tenant_id": "acme" }),
    expect: { cell: "eu-north-1", reason: "directory" } },
  { name: "directory names an unknown cell -> 503 home_cell_unknown", headers: EU("ghost"),
    expect: unavailable("home_cell_unknown") },
  { name: "directory value with trailing whitespace -> 503 home_cell_unknown", country: "US", headers: EU("spacey"),
    expect: unavailable("home_cell_unknown") },
  { name: "new user (no directory entry): the verified zone's default cell, whatever the country", country: "US",
    headers: EU("nobody"), expect: { cell: "eu-central-1", reason: "new" } },
  { name: "new user skips a draining default cell for another active cell of the zone", country: "US",
    kv: { "status:eu-central-1": "draining" }, headers: EU("nobody"), expect: { cell: "eu-north-1", reason: "new" } },
  { name: "new user, no active cell in the zone -> 503 no_cell_for_zone",
    kv: { "status:eu-central-1": "draining", "status:eu-north-1": "down" }, headers: EU("nobody"),
    expect: unavailable("no_cell_for_zone", { zone: "eu" }) },
  // tokens that do not verify: 401 at the edge, never routed
  { name: "forged signature (a key outside the pool, same kid) -> 401", headers: bearer(user("u1", "eu", "eu-central-1"), { key: "forger" }),
    expect: invalid("signature") },
  { name: "payload altered after signing -> 401", headers: { authorization: `Bearer ${(() => {
      const [hd, , sig] = token(user("u1", "eu", "eu-central-1")).split(".");
      return `${hd}.${b64url(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, token_use: "id", exp: nowS() + 60, ...user("u1", "us", "us-east-1") }))}.${sig}`;
    })()}` }, expect: invalid("signature") },
  { name: "expired token -> 401", headers: bearer({ ...user("u1", "eu", "eu-central-1"), exp: nowS() - 5 }), expect: invalid("expired") },
  { name: "token without exp -> 401", headers: bearer({ ...user("u1", "eu", "eu-central-1"), exp: undefined }), expect: invalid("expired") },
  { name: "token not valid yet (nbf) -> 401", headers: bearer({ ...user("u1", "eu", "eu-central-1"), nbf: nowS() + 600 }), expect: invalid("not_yet_valid") },
  { name: "another issuer -> 401", headers: bearer({ ...user("u1", "eu", "eu-central-1"), iss: "https://evil.example" }), expect: invalid("issuer") },
  { name: "another audience -> 401", headers: bearer({ ...user("u1", "eu", "eu-central-1"), aud: "other-client" }), expect: invalid("audience") },
  { name: "access token of another client -> 401",
    headers: bearer({ ...user("u1", "eu", "eu-central-1"), token_use: "access", aud: undefined, client_id: "other" }), expect: invalid("audience") },
  { name: "token_use missing -> 401", headers: bearer({ ...user("u1", "eu", "eu-central-1"), token_use: undefined }), expect: invalid("token_use") },
  { name: "alg none -> 401", headers: { authorization: `Bearer ${b64url('{"alg":"none","kid":"k1"}')}.${b64url(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, token_use: "id", exp: nowS() + 60, ...user("u1", "us", "us-east-1") }))}.` },
    expect: invalid("malformed") },
  { name: "alg HS256 -> 401", headers: bearer(user("u1", "eu", "eu-central-1"), { header: { alg: "HS256" } }), expect: invalid("algorithm") },
  { name: "unknown kid -> 401", headers: bearer(user("u1", "eu", "eu-central-1"), { kid: "k9", key: "k1" }), expect: invalid("unknown_key") },
  { name: "token without sub -> 401", headers: bearer({ "custom:home_zone": "eu", "custom:home_cell": "eu-central-1" }), expect: invalid("no_subject") },
  { name: "malformed: 2 parts -> 401", headers: { authorization: "Bearer abc.def", cookie: "myark_cell=eu-north-1" }, expect: invalid("malformed") },
  { name: "malformed: 4 parts -> 401", headers: { authorization: `Bearer ${token(user("u1", "eu", "eu-central-1"))}.x` }, expect: invalid("malformed") },
  { name: "malformed: bad base64 -> 401", headers: { authorization: "Bearer aaa.!!!$$.sig" }, expect: invalid("malformed") },
  { name: "malformed: invalid UTF-8 payload -> 401",
    headers: { authorization: `Bearer ${b64url('{"alg":"RS256","kid":"k1"}')}.${Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString("base64url")}.c2ln` },
    expect: invalid("malformed") },
  { name: "oversized token (> 16 KiB) -> 401, not routed by country", country: "US",
    headers: bearer({ ...user("u1", "eu", "eu-central-1"), pad: "x".repeat(17000) }), expect: invalid("malformed") },
  { name: "non-Bearer Authorization -> 401", headers: { authorization: "Basic dXNlcjpwYXNz" }, expect: invalid("malformed") },
  { name: "empty Bearer -> 401", headers: { authorization: "Bearer " }, expect: invalid("malformed") },
  // anonymous: by country, cookie only here
  { name: "anonymous DE -> EU default", country: "DE", expect: { cell: "eu-central-1", reason: "country" } },
  { name: "anonymous US -> US default", country: "US", expect: { cell: "us-east-1", reason: "country" } },
  { name: "anonymous unlisted country (BR) -> DEFAULT_ZONE", country: "BR", expect: { cell: "us-east-1", reason: "country" } },
  { name: "anonymous with no cf.country -> DEFAULT_ZONE", country: null, expect: { cell: "us-east-1", reason: "country" } },
  { name: "anonymous, zone without a default: its first active cell", country: "IN", expect: { cell: "ap-south-1", reason: "country" } },
  { name: "anonymous, zone without any cell -> 503 no_cell_for_zone", country: "JP", expect: unavailable("no_cell_for_zone", { zone: "jp" }) },
  { name: "anonymous skips a draining default cell (drain = no new users)", country: "DE",
    kv: { "status:eu-central-1": "draining" }, expect: { cell: "eu-north-1", reason: "country" } },
  { name: "anonymous skips a down default cell for an active cell of the same zone", country: "DE",
    kv: { "status:eu-central-1": "down" }, expect: { cell: "eu-north-1", reason: "country" } },
  { name: "anonymous, no active cell in the zone -> 503, never another zone", country: "DE",
    kv: { "status:eu-central-1": "down", "status:eu-north-1": "draining" }, expect: unavailable("no_cell_for_zone", { zone: "eu" }) },
  { name: "anonymous cookie naming an active cell routes", country: "US", headers: { cookie: "myark_cell=eu-central-1" },
    expect: { cell: "eu-central-1", reason: "cookie" } },
  { name: "cookie found among other cookies", headers: { cookie: "a=1; myark_cell=us-east-1; theme=dark" },
    expect: { cell: "us-east-1", reason: "cookie" } },
  { name: "cookie naming a draining cell -> country placement", country: "DE", headers: { cookie: "myark_cell=eu-west-1" },
    expect: { cell: "eu-central-1", reason: "country" } },
  { name: "two myark_cell cookies: ambiguous, ignored", country: "DE", headers: { cookie: "myark_cell=us-east-1; myark_cell=eu-north-1" },
    expect: { cell: "eu-central-1", reason: "country" } },
  { name: "cookie header is not split on commas", country: "DE", headers: { cookie: "a=1, myark_cell=us-east-1" },
    expect: { cell: "eu-central-1", reason: "country" } },
  { name: "cookie naming an unknown cell -> country placement", country: "FR", headers: { cookie: "myark_cell=eu-gone-2" },
    expect: { cell: "eu-central-1", reason: "country" } },
  // control plane
  { name: "/auth goes to the control plane with query, token not required", path: "/auth?x=1", headers: { authorization: "Bearer junk" },
    expect: { url: `${CONTROL_PLANE}/auth?x=1`, reason: "auth" } },
  { name: "/auth/login goes to the control plane with path and query", path: "/auth/login?next=%2Fhome&y=2",
    expect: { url: `${CONTROL_PLANE}/auth/login?next=%2Fhome&y=2`, reason: "auth" } },
  { name: "/authority is not /auth", path: "/authority", country: "US", expect: { cell: "us-east-1", reason: "country" } },
  // request hygiene
  { name: "internal headers in every spelling, forwarding and hop-by-hop headers are stripped", country: "DE",
    headers: {
      "x-myark-cell": "us-east-1", "X-MyArk-Route-Reason": "claim", x_myark_cell: "us-east-1", "X_MYARK_ORIGIN_AUTH": "guess",
      "x-myark-client-ip": "6.6.6.6", "x-forwarded-for": "6.6.6.6", x_forwarded_for: "6.6.6.6", "x-forwarded-host": "evil.example",
      "x-real-ip": "6.6.6.6", forwarded: "for=6.6.6.6", "true-client-ip": "6.6.6.6", "proxy-authorization": "Basic eA==",
      "x-other": "kept", "proxy-connection": "keep-alive", "x-forwarded-proto": "http", "X_Forwarded_Proto": "http",
      "cf-connecting-ip": "203.0.113.7",
    },
    expect: {
      cell: "eu-central-1", reason: "country",
      upHeaders: { "x-other": "kept", "x-forwarded-for": "203.0.113.7", "x-myark-client-ip": "203.0.113.7" },
      // X-Forwarded-Proto is the cell's load balancer's to set (its HTTPS listener), never the client's
      absent: ["x_myark_cell", "x_myark_origin_auth", "x_forwarded_for", "x-forwarded-host", "x-real-ip", "forwarded", "true-client-ip",
        "proxy-authorization", "proxy-connection", "x-myark-origin-auth", "x-forwarded-proto", "x_forwarded_proto"],
    } },
  { name: "a route reason sent by the client never reaches the cell, also where the router sends none (claim)",
    headers: { ...EU("u1", "eu-central-1"), "X-MyARK-Route-Reason": "country", x_myark_route_reason: "directory" },
    expect: { cell: "eu-central-1", reason: "claim", absent: ["x_myark_route_reason"] } },
  { name: "a client's X-Forwarded-For never survives (Miniflare sets CF-Connecting-IP itself)", country: "DE",
    headers: { "x-forwarded-for": "6.6.6.6", "X-Real-IP": "6.6.6.6" },
    expect: { cell: "eu-central-1", reason: "country", absent: ["x-real-ip"], notSpoofed: "x-forwarded-for" } },
  { name: "a cell's origin secret (secret:<cell>) goes to that cell only", headers: EU("u1", "eu-north-1"),
    kv: { "secret:eu-north-1": "n0rth-s3cret-0123456789abcdef0123", "secret:eu-central-1": "c3ntral-s3cret-0123456789abcdef01" },
    expect: { cell: "eu-north-1", reason: "claim", upHeaders: { "x-myark-origin-auth": "n0rth-s3cret-0123456789abcdef0123" } } },
  { name: "the control plane never receives a cell's origin secret", path: "/auth/x",
    kv: { "secret:eu-central-1": "c3ntral-s3cret-0123456789abcdef01" }, expect: { url: `${CONTROL_PLANE}/auth/x`, reason: "auth", absent: ["x-myark-origin-auth"] } },
  { name: "Authorization and cookies are forwarded unchanged", headers: { ...EU("u1", "eu-central-1"), cookie: "myark_cell=eu-north-1; s=1" },
    expect: { cell: "eu-central-1", reason: "claim", upHeaders: { cookie: "myark_cell=eu-north-1; s=1" } } },
  { name: "path and query preserved to the cell", path: "/v1/items/42?limit=10&q=a%20b", headers: EU("u1", "eu-north-1"),
    expect: { cell: "eu-north-1", reason: "claim" } },
  { name: "DELETE passes through", method: "DELETE", path: "/v1/items/42", headers: US("u1", "us-east-1"),
    expect: { cell: "us-east-1", reason: "claim" } },
  { name: "PUT with body passes through", method: "PUT", path: "/v1/items/42", body: '{"a":1}', headers: US("u1", "us-east-1"),
    expect: { cell: "us-east-1", reason: "claim" } },
  { name: "upstream redirect is returned, not followed", path: "/redirect", headers: EU("u1", "eu-central-1"),
    expect: { cell: "eu-central-1", reason: "claim", status: 302 } },
];

describe("routing table", () => {
  beforeEach(() => h.setKV());
  for (const c of CASES) {
    test(c.name, async () => {
      if (c.kv) await h.setKV(c.kv);
      const path = c.path ?? "/v1/me";
      const { res, text, up, ups } = await h.send(path, {
        country: c.country === undefined ? "DE" : c.country, headers: c.headers, method: c.method, body: c.body,
      });
      const e = c.expect;
      if (e.error) {
        assert.equal(res.status, e.status, text);
        assert.equal(ups.length, 0, "an error answer must not reach any upstream");
        assert.match(res.headers.get("content-type"), /^application\/json/);
        const body = JSON.parse(text);
        assert.equal(body.error, e.error);
        for (const k of ["cell", "zone", "reason"]) if (k in e) assert.equal(body[k], e[k]);
        assert.equal(res.headers.get("retry-after"), e.retry ? "30" : null);
        if (e.status === 401) assert.match(res.headers.get("www-authenticate"), /^Bearer error="invalid_token"/);
        return;
      }
      assert.equal(res.status, e.status ?? 200, text);
      assert.equal(ups.length, 1, "exactly one upstream request");
      const expectedUrl = e.url ?? originOf(e.cell) + path;
      assert.equal(up.url, expectedUrl);
      assert.equal(up.method, c.method ?? "GET");
      // the common case, routed by the verified claim, costs no header (its absence means `claim`)
      assert.equal(up.headers["x-myark-route-reason"], e.reason === "claim" ? undefined : e.reason);
      // the only internal headers a cell receives are the router's own (no x-myark-cell: the cell
      // knows its name, and the URL above already proves which cell was reached)
      const internal = ["x-myark-route-reason", "x-myark-client-ip", ...(c.kv ? ["x-myark-origin-auth"] : [])];
      for (const name of Object.keys(up.headers)) {
        if (name.replace(/_/g, "-").startsWith("x-myark-")) assert.ok(internal.includes(name), `leaked ${name}`);
      }
      assert.equal(up.headers["x-myark-cell"], undefined);
      if (e.cell) {
        // the cell's own response, as it sent it: the router adds nothing (no re-wrap)
        assert.equal(res.headers.get("x-upstream-host"), new URL(originOf(e.cell)).host);
        assert.equal(res.headers.get("x-myark-cell"), null);
      }
      for (const [k, v] of Object.entries(e.upHeaders ?? {})) assert.equal(up.headers[k], v, k);
      for (const k of e.absent ?? []) assert.equal(up.headers[k], undefined, `${k} must not reach the cell`);
      // Miniflare's outbound hop adds its own X-Forwarded-For; the client's value must not survive
      if (e.notSpoofed) {
        assert.ok(!String(up.headers[e.notSpoofed]).includes("6.6.6.6"), up.headers[e.notSpoofed]);
        assert.ok(!String(up.headers["x-myark-client-ip"]).includes("6.6.6.6"));
      }
      if (c.headers?.authorization) assert.equal(up.headers.authorization, c.headers.authorization);
      if (c.body !== undefined) assert.equal(up.bodySha, createHash("sha256").update(c.body).digest("hex"));
      if (res.status === 200) assert.equal(text, `upstream ${new URL(expectedUrl).host}`);
    });
  }
});

// GET/HEAD with a body: fetch() clients refuse to send one, so this speaks HTTP/1.1 to Miniflare.
describe("GET or HEAD with a body -> 400", () => {
  before(() => h.setKV());
  // (workerd itself resets a HEAD that carries a body, before any Worker runs)
  for (const [method, length, want] of [["GET", "5", 400], ["GET", "0", 200]]) {
    test(`${method} with Content-Length ${length} -> ${want}`, async () => {
      const url = await h.mf.ready;
      const before = captured.length;
      const { status, headers, body } = await new Promise((resolve, reject) => {
        const req = http.request(url, {
          method, path: "/v1/me", agent: false, // a fresh connection per request
          headers: { "content-type": "text/plain", "content-length": length, "MF-Route-Override": "router", host: "api.myark.io" },
        }, (res) => {
          let data = "";
          res.on("data", (d) => (data += d));
          res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
        });
        req.on("error", reject);
        req.end(length === "0" ? "" : "hello");
      });
      assert.equal(status, want, body);
      if (want === 200) return assert.equal(captured.length, before + 1, "an empty body is no body: forwarded");
      assert.deepEqual(JSON.parse(body), { error: "body_not_allowed", method });
      assert.match(headers["content-type"], /^application\/json/);
      assert.equal(captured.length, before, "nothing forwarded");
    });
  }
});

// Headers that fetch() clients will not send (Connection), and a repeated set-cookie (Headers
// iteration yields each one on its own): raw HTTP/1.1 again.
for (const repeated of [false, true]) {
  test(`headers named by Connection are dropped${repeated ? "; a repeated set-cookie is forwarded as sent" : ""}`, async () => {
    await h.setKV();
    const url = await h.mf.ready;
    const before = captured.length;
    const status = await new Promise((resolve, reject) => {
      const req = http.request(url, {
        method: "GET", path: "/v1/odd-headers", agent: false,
        headers: [
          "MF-Route-Override", "router", "host", "api.myark.io",
          "Connection", "keep-alive, X-Hop_Me", "x-hop-me", "1", "x_hop_me", "2", "x-keep", "k",
          ...(repeated ? ["set-cookie", "a=1", "set-cookie", "b=2"] : []), "cookie", "myark_cell=eu-north-1",
        ],
      }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 200);
    assert.equal(captured.length, before + 1);
    const up = captured.at(-1);
    assert.equal(up.url, `${originOf("eu-north-1")}/v1/odd-headers`);
    const names = up.headerList.map(([n]) => n);
    for (const n of ["x-hop-me", "x_hop_me", "connection"]) assert.ok(!names.includes(n), `${n} must not reach the cell`);
    assert.equal(up.headers["x-keep"], "k");
    assert.deepEqual(up.headerList.filter(([n]) => n === "set-cookie").map(([, v]) => v), repeated ? ["a=1", "b=2"] : []);
    assert.equal(up.headers["x-myark-route-reason"], "cookie");
    assert.equal(up.headers["x-myark-cell"], undefined);
  });
}

test("unreachable cell (connection refused on loopback) -> 502 JSON, no failover", async () => {
  await h.setKV({ "cell:eu-broken-1": JSON.stringify({ name: "eu-broken-1", zone: "eu", origin: "http://127.0.0.1:9" }) });
  const r = await h.send("/v1/me", { worker: "router-direct", country: "DE", headers: { cookie: "myark_cell=eu-broken-1" } });
  assert.equal(r.res.status, 502, r.text);
  assert.match(r.res.headers.get("content-type"), /^application\/json/);
  assert.equal(r.res.headers.get("retry-after"), "30");
  assert.deepEqual(JSON.parse(r.text), { error: "upstream_unreachable", cell: "eu-broken-1" });
});

describe("bodies", () => {
  before(() => h.setKV());
  test("POST body (1 MiB binary) forwarded intact", async () => {
    const data = randomBytes(1 << 20);
    const { res, up } = await h.send("/v1/upload", {
      method: "POST", body: data, headers: { ...EU("u1", "eu-central-1"), "content-type": "application/octet-stream" },
    });
    assert.equal(res.status, 200);
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
    const { res, up } = await h.send("/v1/stream", { method: "POST", body: stream, headers: US("u1", "us-east-1") });
    assert.equal(res.status, 200);
    const all = Buffer.concat(chunks);
    assert.equal(up.bodyLength, all.length);
    assert.equal(up.bodySha, createHash("sha256").update(all).digest("hex"));
  });
});

// ---- the key set ------------------------------------------------------------------------
describe("key set (JWKS)", () => {
  before(() => h.setKV());

  test("fetched once per isolate; an unknown kid refreshes at most once per JWKS_MIN_REFRESH_SECONDS", async () => {
    const tok = EU("u1", "eu-central-1");
    for (let i = 0; i < 5; i++) assert.equal((await h.send("/v1/k", { worker: "router-keys", headers: tok })).res.status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await h.send("/v1/k", { worker: "router-keys", headers: EU(`u${i}`, "eu-north-1") })).res.status, 200);
    assert.equal(jwks.fetches.get("router-keys"), 1);
    const unknown = bearer(user("u1", "eu", "eu-central-1"), { kid: "k-new", key: "k1" });
    assert.equal((await h.send("/v1/k", { worker: "router-keys", headers: unknown })).res.status, 401);
    assert.equal(jwks.fetches.get("router-keys"), 1, "within the gap of the last fetch: no refetch");
    await new Promise((r) => setTimeout(r, 1100)); // the gap is 1 s here (default 60 s)
    for (let i = 0; i < 5; i++) {
      const r = await h.send("/v1/k", { worker: "router-keys", headers: bearer(user("u1", "eu", "eu-central-1"), { kid: `k-new-${i}`, key: "k1" }) });
      assert.equal(r.res.status, 401);
    }
    assert.equal(jwks.fetches.get("router-keys"), 2, "one refresh for the unknown kids, then rate-limited");
  });

  test("key rotation: a token signed with a newly published key verifies after the refresh", async () => {
    const tok = bearer(user("u1", "eu", "eu-central-1"), { kid: "k2" });
    assert.equal((await h.send("/v1/r", { worker: "router-rotate", headers: tok })).res.status, 401, "k2 not published yet");
    jwks.kids.set("router-rotate", ["k1", "k2"]);
    const r = await h.send("/v1/r", { worker: "router-rotate", headers: tok });
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.up.origin, originOf("eu-central-1"));
  });

  test("an old key set is refreshed in the background; a failed refresh keeps the old keys", async () => {
    const tok = EU("u-refresh", "eu-central-1");
    assert.equal((await h.send("/v1/f", { worker: "router-refresh", headers: tok })).res.status, 200);
    assert.equal(jwks.fetches.get("router-refresh"), 1);
    await new Promise((r) => setTimeout(r, 1100)); // older than JWKS_REFRESH_SECONDS
    jwks.down.add("router-refresh");
    const fresh = EU("u-refresh-2", "eu-north-1"); // not in the verified-token cache
    const r = await h.send("/v1/f", { worker: "router-refresh", headers: fresh });
    assert.equal(r.res.status, 200, "answered with the old keys, not made to wait or fail");
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(jwks.fetches.get("router-refresh"), 2, "one background refresh");
    const again = await h.send("/v1/f", { worker: "router-refresh", headers: EU("u-refresh-3", "eu-west-1") });
    assert.equal(again.res.status, 200, "the failed refresh kept the previous set");
  });

  test("key set unreachable and none cached -> 503 keys_unavailable; anonymous traffic still routes", async () => {
    jwks.down.add("router-nokeys");
    const r = await h.send("/v1/n", { worker: "router-nokeys", headers: EU("u1", "eu-central-1") });
    assert.equal(r.res.status, 503, r.text);
    assert.deepEqual(JSON.parse(r.text), { error: "keys_unavailable" });
    assert.equal(r.res.headers.get("retry-after"), "30");
    assert.equal(r.ups.length, 0);
    const anon = await h.send("/v1/n", { worker: "router-nokeys", country: "FR" });
    assert.equal(anon.up.origin, originOf("eu-central-1"));
  });

  test("issuer not configured -> 500 config_invalid for signed-in requests", async () => {
    const r = await h.send("/v1/c", { worker: "router-noconfig", headers: EU("u1", "eu-central-1") });
    assert.equal(r.res.status, 500);
    assert.equal(JSON.parse(r.text).error, "config_invalid");
  });

  test("a cached token is recognised only as the whole Bearer credential; other spellings go through the full check", async () => {
    const tok = token(user("u-spell", "eu", "eu-central-1"));
    const send = (authorization) => h.send("/v1/s", { worker: "router-keys", headers: { authorization } });
    assert.equal((await send(`Bearer ${tok}`)).res.status, 200); // now cached
    for (const ok of [`bearer ${tok}`, `BEARER   ${tok}`]) assert.equal((await send(ok)).res.status, 200, ok);
    for (const [bad, reason] of [[`Bearer ${tok}\tx`, "malformed"], [`Bearer ${tok}x`, "signature"], [`Bearer ${tok} x`, "malformed"],
      [`Bearer\t${tok}`, "malformed"], [`Token ${tok}`, "malformed"]]) {
      const r = await send(bad);
      assert.equal(r.res.status, 401, bad);
      assert.equal(JSON.parse(r.text).reason, reason, bad);
      assert.equal(r.ups.length, 0);
    }
  });

  test("first-seen tokens verified concurrently are each checked against their own bytes (the scratch buffers are shared)", async () => {
    // 40 valid tokens, each with two forgeries: its header and payload under another token's
    // signature, and its signature under a payload with one claim changed; all 120 in flight at once
    const valid = Array.from({ length: 40 }, (_, i) => token(user(`u-conc-${i}`, "eu", "eu-central-1")));
    const parts = valid.map((t) => t.split("."));
    const swapped = parts.map(([hd, p], i) => `${hd}.${p}.${parts[(i + 1) % parts.length][2]}`);
    const tampered = parts.map(([hd, p, sig]) => {
      const claims = JSON.parse(Buffer.from(p, "base64url").toString());
      return `${hd}.${b64url(JSON.stringify({ ...claims, "custom:home_cell": "eu-north-1" }))}.${sig}`;
    });
    const cases = valid.flatMap((t, i) => [[t, 200], [swapped[i], 401], [tampered[i], 401]]);
    const results = await Promise.all(cases.map(([t]) => h.send("/v1/conc", { worker: "router-keys", headers: { authorization: `Bearer ${t}` } })));
    results.forEach((r, i) => {
      assert.equal(r.res.status, cases[i][1], `case ${i}: ${r.text}`);
      if (cases[i][1] === 401) assert.equal(JSON.parse(r.text).reason, "signature", `case ${i}`);
    });
  });

  test("a cached verified token stops working when it expires", async () => {
    const tok = bearer({ ...user("u-exp", "eu", "eu-central-1"), exp: nowS() + 2 });
    assert.equal((await h.send("/v1/e", { worker: "router-keys", headers: tok })).res.status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    const r = await h.send("/v1/e", { worker: "router-keys", headers: tok });
    assert.equal(r.res.status, 401, r.text);
  });
});

// ---- KV read counting and KV failures (through the kv-proxy binding) ------------------
describe("KV reads and failures", () => {
  before(() => h.setKV());
  beforeEach(() => h.proxyAdmin("/reset"));

  test("hot path: warm cache + verified token naming its cell -> zero KV reads", async () => {
    const warm = await h.send("/v1/me", { worker: "router-counted", headers: EU("u1", "eu-central-1") });
    assert.equal(warm.res.status, 200);
    let s = await h.proxyAdmin("/reset");
    assert.ok(s.list.length >= 2, "the first request loaded the table");
    for (let i = 0; i < 30; i++) {
      const hdr = i % 2 ? EU("alice", "eu-central-1") : US("bob", "us-east-1");
      const r = await h.send(`/v1/x/${i}`, { worker: "router-counted", headers: hdr });
      assert.equal(r.res.status, 200);
      assert.equal(r.up.origin, originOf(i % 2 ? "eu-central-1" : "us-east-1"));
    }
    await h.send("/v1/me", { worker: "router-counted", headers: { cookie: "myark_cell=eu-north-1" } });
    await h.send("/v1/me", { worker: "router-counted", country: "FR" });
    s = await h.proxyAdmin("/stats");
    assert.deepEqual(s, { get: [], list: [] });
  });

  test("directory path reads exactly one key", async () => {
    await h.send("/v1/me", { worker: "router-counted", headers: EU("u1", "eu-central-1") }); // warm
    await h.proxyAdmin("/reset");
    const r = await h.send("/v1/me", { worker: "router-counted", headers: EU("alice") });
    assert.equal(r.up.origin, originOf("eu-west-1"));
    assert.deepEqual(await h.proxyAdmin("/stats"), { get: ["user:alice"], list: [] });
  });

  test("concurrent cold requests share one in-flight refresh", async () => {
    await h.proxyAdmin("/stall?ms=150");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h.send(`/v1/burst/${i}`, { worker: "router-burst", headers: i % 2 ? EU(`b${i}`, "eu-west-1") : US(`b${i}`, "us-east-1") }),
      ),
    );
    for (const [i, r] of results.entries()) {
      assert.equal(r.res.status, 200, r.text);
      assert.equal(r.text, `upstream ${new URL(originOf(i % 2 ? "eu-west-1" : "us-east-1")).host}`);
    }
    const s = await h.proxyAdmin("/stats");
    assert.deepEqual(s.list.sort(), ["cell:", "secret:", "status:"], "one refresh: one list per prefix");
  });

  test("KV failure with no cached table -> 503 directory_unavailable, then recovers", async () => {
    await h.proxyAdmin("/fail?mode=all");
    const r = await h.send("/v1/me", { worker: "router-cold", headers: EU("u1", "eu-central-1") });
    assert.equal(r.res.status, 503);
    assert.equal(r.ups.length, 0);
    assert.equal(r.res.headers.get("retry-after"), "30");
    assert.deepEqual(JSON.parse(r.text), { error: "directory_unavailable" });
    await h.proxyAdmin("/fail?mode=");
    await new Promise((res) => setTimeout(res, 50));
    let ok;
    for (let i = 0; i < 60; i++) { // the refresh backoff after a failure is at most 5 s
      ok = await h.send("/v1/me", { worker: "router-cold", headers: EU("u1", "eu-central-1") });
      if (ok.res.status === 200) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(ok.res.status, 200);
    assert.equal(ok.up.origin, originOf("eu-central-1"));
  });

  test("KV failure with a stale cached table -> last table is used", async () => {
    const warm = await h.send("/v1/me", { worker: "router-faulty", headers: EU("u1", "eu-north-1") });
    assert.equal(warm.res.status, 200);
    await h.proxyAdmin("/fail?mode=list");
    await new Promise((r) => setTimeout(r, 1100)); // TTL is 1 s: the table is now stale
    const r = await h.send("/v1/me", { worker: "router-faulty", headers: EU("u1", "eu-north-1") });
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.up.origin, originOf("eu-north-1"));
    assert.ok((await h.proxyAdmin("/stats")).list.length >= 1, "a refresh was attempted and failed");
  });

  test("user: read throws -> 503 directory_unavailable, never the client's country", async () => {
    await h.send("/v1/me", { worker: "router-faulty", country: "DE" }); // warm
    await h.proxyAdmin("/fail?mode=user");
    const r = await h.send("/v1/me", { worker: "router-faulty", country: "US", headers: EU("alice") });
    assert.equal(r.res.status, 503, r.text);
    assert.deepEqual(JSON.parse(r.text), { error: "directory_unavailable" });
    assert.equal(r.ups.length, 0);
    assert.ok((await h.proxyAdmin("/stats")).get.includes("user:alice"));
  });

  test("user: read stalls -> 503 within the KV_TIMEOUT_MS bound", async () => {
    await h.send("/v1/me", { worker: "router-faulty", country: "DE" }); // warm
    const t0 = Date.now();
    const r = await h.send("/v1/me", { worker: "router-faulty", country: "US", headers: EU("stall-1") });
    const ms = Date.now() - t0;
    assert.equal(r.res.status, 503, r.text);
    assert.deepEqual(JSON.parse(r.text), { error: "directory_unavailable" });
    assert.ok(ms < 1500, `answered after ${ms} ms (bound 300 ms, the stall is 2 s)`);
  });
});

