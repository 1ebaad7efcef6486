// Property test in workerd: randomized requests against the real router, with KV faults.
//
// Each round rewrites the directory (cell statuses, sometimes a corrupt cell record, the users'
// entries) and sends a batch of requests mixing valid, forged, expired, oversized and foreign
// tokens, anonymous requests with cookies, spoofed forwarding and internal headers, and directory
// entries that throw, stall, are stale (a cell of another zone) or corrupt. Properties:
//   1. a user with verified zone Z is never forwarded outside Z;
//   2. a signed-in user is never routed by country or cookie; a token that does not verify is a
//      401 and reaches no cell;
//   3. the Worker never answers a 5xx other than its documented errors;
//   4. no client-sent forwarding or internal header reaches a cell;
// and every answer is the one the README's routing rules give (an independent oracle below).
// PROP_SEED and PROP_ROUNDS replay or widen the run.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  AUDIENCE, BASE_KV, CELLS, COUNTRY_ZONES, DOCUMENTED_ERRORS, ISSUER, b64url, captured, originOf, rng, routerWorker, start, token,
  user,
} from "./support.mjs";

let h;
before(async () => {
  h = await start([routerWorker("router-prop", { ttl: "0", directory: "proxy", vars: { KV_TIMEOUT_MS: "400" } })]);
  await h.setKV();
});
after(async () => {
  await h?.mf.dispose();
});

const NAMES = Object.keys(CELLS).sort();
const ZONE_OF_ORIGIN = new Map(NAMES.map((n) => [originOf(n), CELLS[n].zone]));
const inZone = (z) => NAMES.filter((n) => CELLS[n].zone === z);
const COUNTRIES = [...Object.keys(COUNTRY_ZONES), "BR", "ZA", null];
const nowS = () => Math.floor(Date.now() / 1000);

// ---- the oracle: README "Routing, per request", written from the rules, not from the code ----
function expected(q, world) {
  const known = (n) => typeof n === "string" && Object.hasOwn(CELLS, n) && world.corrupt !== n;
  const status = (n) => world.status[n];
  const placement = (zone) => {
    const zoneCells = inZone(zone).filter(known);
    const d = zoneCells.find((n) => CELLS[n].default);
    if (d && status(d) === "active") return d;
    return zoneCells.find((n) => status(n) === "active");
  };
  const cellOrDown = (name, reason) =>
    status(name) === "down" ? { status: 503, error: "cell_unavailable", cell: name } : { status: 200, cell: name, reason };
  if (q.token === "invalid") return { status: 401, error: "token_invalid" };
  if (q.token === "valid") {
    if (!q.zone) return { status: 503, error: "home_zone_missing" };
    let name = q.claimCell;
    let reason = "claim";
    if (name === undefined) {
      reason = "directory";
      if (q.dir === "throw" || q.dir === "stall") return { status: 503, error: "directory_unavailable" };
      name = q.dirValue;
    }
    if (name === undefined) {
      const p = placement(q.zone);
      return p ? cellOrDown(p, "new") : { status: 503, error: "no_cell_for_zone" };
    }
    if (!known(name)) return { status: 503, error: "home_cell_unknown" };
    if (CELLS[name].zone !== q.zone) return { status: 503, error: "zone_mismatch" };
    return cellOrDown(name, reason);
  }
  if (q.cookieCell && known(q.cookieCell) && status(q.cookieCell) === "active") return cellOrDown(q.cookieCell, "cookie");
  const zone = q.country && Object.hasOwn(COUNTRY_ZONES, q.country) ? COUNTRY_ZONES[q.country] : "us";
  const p = placement(zone);
  return p ? cellOrDown(p, "country") : { status: 503, error: "no_cell_for_zone" };
}

test("randomized requests: residency, no routing by country for signed-in users, documented errors only", async () => {
  const seed = Number(process.env.PROP_SEED ?? 20261126);
  const rounds = Number(process.env.PROP_ROUNDS ?? 25);
  const perRound = 84;
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const chance = (p) => r() < p;
  const seen = new Map();
  const count = (k) => seen.set(k, (seen.get(k) ?? 0) + 1);
  let total = 0;

  for (let round = 0; round < rounds; round++) {
    // the world of this round: statuses, maybe one corrupt cell record, the users' entries
    const rawStatus = Object.fromEntries(NAMES.map((n) => [n, pick(["active", "active", "draining", "down", null, "bogus"])]));
    const world = {
      status: Object.fromEntries(NAMES.map((n) => [n, rawStatus[n] === null ? "active" : rawStatus[n] === "bogus" ? "down" : rawStatus[n]])),
      corrupt: chance(0.4) ? pick(NAMES) : undefined,
    };
    const put = {};
    for (const n of NAMES) {
      put[`status:${n}`] = rawStatus[n] === null ? null : rawStatus[n] === "bogus" ? "  b0gus " : ` ${rawStatus[n].toUpperCase()}`;
      put[`cell:${n}`] = BASE_KV[`cell:${n}`];
    }
    if (world.corrupt) {
      const c = world.corrupt;
      put[`cell:${c}`] = pick([
        "{not json",
        JSON.stringify({ name: c, origin: originOf(c) }), // no zone
        JSON.stringify({ name: `${c}-x`, zone: CELLS[c].zone, origin: originOf(c) }), // name disagrees
        JSON.stringify({ name: c, zone: CELLS[c].zone, origin: "ftp://x" }),
        "",
      ]);
    }

    const batch = [];
    for (let k = 0; k < perRound; k++) {
      const id = `${round}-${k}`;
      const q = { path: `/v1/p/${id}`, headers: {}, country: pick(COUNTRIES), token: "none" };
      const kind = pick(["anon", "anon", "valid", "valid", "valid", "valid", "forged", "expired", "oversized", "foreign", "junk"]);
      const zone = pick(["eu", "eu", "us", "ap"]);
      const other = zone === "eu" ? "us" : "eu";
      if (kind === "anon") {
        const c = pick([undefined, undefined, pick(NAMES), "two", "comma", "zz-9"]);
        if (c === "two") q.headers.cookie = `myark_cell=${pick(NAMES)}; myark_cell=${pick(NAMES)}`;
        else if (c === "comma") q.headers.cookie = `a=1, myark_cell=${pick(NAMES)}`;
        else if (c !== undefined) {
          q.cookieCell = c;
          q.headers.cookie = `theme=dark; myark_cell=${c}`;
        }
      } else if (kind === "valid") {
        q.token = "valid";
        q.zone = chance(0.05) ? undefined : zone;
        const sub = pick(["u", "throw-", "stall-"]) === "u" ? `u-${id}` : `${pick(["throw", "stall"])}-${id}`;
        const c = pick(["none", "none", "home", "other", "unknown"]);
        q.claimCell = { none: undefined, home: pick(inZone(zone)), other: pick(inZone(other)), unknown: "eu-nowhere-9" }[c];
        if (q.claimCell === undefined) {
          if (sub.startsWith("throw-")) q.dir = "throw";
          else if (sub.startsWith("stall-")) q.dir = "stall";
          else {
            q.dir = pick(["none", "home", "stale", "space", "unknown"]);
            q.dirValue = { none: undefined, home: pick(inZone(zone)), stale: pick(inZone(other)), space: undefined, unknown: "zz-9" }[q.dir];
            if (q.dir === "space") {
              const home = pick(inZone(zone));
              put[`user:${sub}`] = `${home} `;
              q.dirValue = `${home} `;
            } else if (q.dirValue !== undefined) put[`user:${sub}`] = q.dirValue;
          }
        }
        const claims = user(sub, q.zone, q.claimCell);
        if (!q.zone) delete claims["custom:home_zone"];
        const access = chance(0.2);
        const tok = access
          ? token({ ...claims, token_use: "access", aud: undefined, client_id: AUDIENCE })
          : token(claims);
        q.headers.authorization = `Bearer ${tok}`;
        if (chance(0.5)) q.headers.cookie = `myark_cell=${pick(NAMES)}`; // must never move a signed-in user
      } else {
        q.token = "invalid";
        const claims = user(`x-${id}`, zone, pick(inZone(other)));
        const tok = {
          forged: () => token(claims, { key: "forger" }),
          expired: () => token({ ...claims, exp: nowS() - 1 - Math.floor(r() * 1e5) }),
          oversized: () => token({ ...claims, pad: "p".repeat(16400) }),
          foreign: () => token({ ...claims, ...pick([{ iss: `${ISSUER}x` }, { aud: "other" }, { token_use: "refresh" }]) }),
          junk: () => pick(["a.b", "a.b.c.d", `${b64url('{"alg":"none","kid":"k1"}')}.${b64url(JSON.stringify(claims))}.`, "%%%"]),
        }[kind]();
        q.headers.authorization = `${pick(["Bearer", "bearer", "Basic"])} ${tok}`;
        if (q.headers.authorization.startsWith("Basic")) q.headers.authorization = "Basic dXNlcjpwYXNz";
        if (chance(0.5)) q.headers.cookie = `myark_cell=${pick(NAMES)}`;
      }
      // spoofed forwarding and internal headers, in several spellings
      if (chance(0.5)) {
        q.headers["x-forwarded-for"] = "6.6.6.6";
        q.headers[pick(["x_myark_cell", "X-MyARK-Cell", "x-myark-zone", "X_MYARK_ORIGIN_AUTH"])] = pick(NAMES);
        q.headers[pick(["x-real-ip", "forwarded", "x_forwarded_for", "true-client-ip"])] = "6.6.6.6";
      }
      q.ip = `198.51.100.${k}`;
      q.headers["cf-connecting-ip"] = q.ip;
      q.method = pick(["GET", "POST"]);
      if (q.method === "POST") q.body = `{"i":"${id}"}`;
      q.kind = kind;
      q.expect = expected(q, world);
      batch.push(q);
    }
    await h.kvWrite({ put });
    const results = await Promise.all(batch.map((q) => h.send(q.path, { worker: "router-prop", ...q })));

    for (const [i, { res, text, ups }] of results.entries()) {
      const q = batch[i];
      const e = q.expect;
      const ctx = () => JSON.stringify({ seed, round, q: { ...q, headers: { ...q.headers, authorization: q.headers.authorization?.slice(0, 40) } }, world, got: { status: res.status, text } });
      total++;
      count(`${res.status} ${e.error ?? e.reason}`);
      // property 1: the verified zone holds
      for (const u of ups) if (q.token === "valid") assert.equal(ZONE_OF_ORIGIN.get(u.origin), q.zone, `outside the zone: ${ctx()}`);
      // property 2: signed-in users are never placed by country or cookie; invalid tokens reach nothing
      if (q.token === "invalid") {
        assert.equal(res.status, 401, ctx());
        assert.equal(ups.length, 0, ctx());
      }
      if (ups.length) {
        const reason = ups[0].headers["x-myark-route-reason"] ?? "claim"; // absent: the claim (the common case)
        assert.ok((q.token === "valid" ? ["claim", "directory", "new"] : ["cookie", "country"]).includes(reason), `${reason}: ${ctx()}`);
      }
      // property 3: only documented errors
      if (res.status >= 400) {
        const body = JSON.parse(text);
        assert.ok((DOCUMENTED_ERRORS[res.status] ?? []).includes(body.error), `undocumented ${res.status}: ${ctx()}`);
        if (res.status === 503) assert.equal(res.headers.get("retry-after"), "30");
        assert.equal(ups.length, 0, ctx());
      }
      // property 4: request hygiene
      for (const u of ups) {
        assert.equal(u.headers["x-forwarded-for"], q.ip, ctx());
        assert.equal(u.headers["x-myark-client-ip"], q.ip, ctx());
        for (const name of Object.keys(u.headers)) {
          assert.ok(!name.includes("_"), `${name} reached the cell: ${ctx()}`);
          assert.ok(!["x-myark-zone", "x-real-ip", "forwarded", "true-client-ip", "x-myark-origin-auth"].includes(name), ctx());
        }
      }
      // and the exact answer of the rules
      assert.equal(res.status, e.status, ctx());
      if (e.error) assert.equal(JSON.parse(text).error, e.error, ctx());
      else {
        assert.equal(ups.length, 1, ctx());
        assert.equal(ups[0].origin, originOf(e.cell), ctx());
        // the common case, routed by the verified claim, costs no header
        assert.equal(ups[0].headers["x-myark-route-reason"], e.reason === "claim" ? undefined : e.reason, ctx());
      }
    }
    captured.length = 0;
  }
  assert.ok(total >= 2000 || process.env.PROP_ROUNDS, `${total} requests`);
  // every kind of outcome was exercised
  const kinds = [...seen.keys()].join(" | ");
  for (const k of ["200 claim", "200 directory", "200 new", "200 cookie", "200 country", "401 token_invalid", "503 zone_mismatch",
    "503 home_cell_unknown", "503 directory_unavailable", "503 cell_unavailable", "503 no_cell_for_zone", "503 home_zone_missing"]) {
    assert.ok(seen.has(k), `never exercised: ${k} (seen: ${kinds})`);
  }
  console.log(`# property: ${total} requests, seed ${seed}: ${kinds}`);
});
