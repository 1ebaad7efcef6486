// Router vs pass-through throughput, both in workerd (Miniflare 4), same stubbed upstream,
// WITH token verification on (RS256 against a key set, as in production).
//
//   node bench/bench.mjs [--n 5000] [--concurrency 16] [--batch 200] [--rounds 3] [--users 1000]
//                        [--zipf 1.0] [--cold 2000] [--json PATH] [--e2e] [--cf-headers]
//   node bench/bench.mjs --instructions [--instr-n 3000] [--instr-lo 500] [--mix-hits 0.969] [--users 1000]
//                        [--json PATH] [--cf-headers]
//
// Workers in one Miniflare instance:
//   router      src/worker.js, real KV holding a cell table (warm), verifying every token
//   passthrough bench/passthrough.js: forwards every request to one fixed origin
//   upstream    a tiny worker, the outbound service of both: serves the key set, answers cells;
//               nothing leaves workerd
//   driver      sends `batch` requests to one of them through a service binding, with
//               `concurrency` in flight, and times them
// Traffic: `users` signed-in users, each with their own token (signed here with a fresh RSA key),
// chosen per request by a Zipf(`zipf`) law: popular users come back often, the tail comes once,
// so the router's verified-token cache sees a realistic mix of first and repeated tokens. Both
// workers receive the same token sequence. The cache hit ratio over the measured requests is
// reported, and the cost of a cold verification: `cold` never-seen tokens vs one repeated token
// (wall time per request at the same concurrency, and workerd CPU per request).
// Each round sends N requests to each worker in batches that alternate router, passthrough,
// passthrough, router, ... so that noise from a shared machine hits both alike.
// Each pair of adjacent batches (same tokens, back to back) gives one ratio router rps /
// passthrough rps; the figure is the MEDIAN of these pair ratios over all rounds, which a burst of
// load from another process on a shared machine moves by one pair at most. PASS when it is >= 0.90.
// Also reported: per-round rps and ratios, and the aggregate ratio (requests / time over all rounds).
// Also reported: workerd CPU time per request (from /proc, Linux), which other processes on
// the machine do not distort. --e2e adds a client's-eye figure through dispatchFetch
// (HTTP over loopback), where Node and Miniflare's entry worker dominate.
//
// --instructions (opt-in, not part of ./dev test: it needs valgrind and about 3 min): the
// load-independent figure, which other processes on a shared machine cannot move. The same
// workers, bindings and traffic (the same users' tokens, the same Zipf law, verification on) run
// under valgrind (cachegrind, no cache simulation, --fair-sched=yes), which counts the machine
// instructions of the whole workerd process (router or pass-through, driver, Miniflare's outbound
// hop, stub upstream). Each count is the difference of two workerd processes with the same set-up,
// one sent instr-lo requests and one instr-lo + instr-n, over instr-n (start-up and exit cancel
// out). Four counts: router and pass-through with every token already cached (the hot path: every
// user's token sent once, then a Zipf warm-up, then one fixed Zipf sequence); the router with
// first-seen tokens only (a cold verification each); and the router with the realistic mix: the
// hot path's set-up and sequence with a share 1 - mix-hits (default 96.9 %, the timed mode's hit
// ratio) of its requests, evenly spread, replaced by first-seen tokens. Prints the hot-path ratio
// (pass-through / router, the throughput ratio a CPU-bound machine would see), the instructions of
// a cold verification (cold minus cached), and the ratio with the realistic mix (counted, and
// derived as hot + misses x cold as a cross-check); PASS (exit 0) when both are >= 0.90. Run-to-run
// noise about ±0.015 M per request (about ±0.015 on the ratio). Without valgrind it says so in one
// line, exit 0.

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { generateKeyPairSync, sign } from "node:crypto";
import { Miniflare } from "miniflare";

const args = process.argv.slice(2);
const VALUED = ["n", "concurrency", "batch", "rounds", "users", "zipf", "cold", "json", "instr-n", "instr-lo", "mix-hits"];
const FLAGS = ["e2e", "cf-headers", "instructions"];
// bad arguments: one line that says what is wrong and what is valid, exit 2, nothing run
const usage = (msg) => {
  console.error(`bench: ${msg}`);
  process.exit(2);
};
for (let i = 0; i < args.length; i++) {
  const name = args[i].replace(/^--/, "");
  if (!args[i].startsWith("--") || !(VALUED.includes(name) || FLAGS.includes(name))) {
    usage(`unknown argument ${JSON.stringify(args[i])}; valid: ${[...VALUED.map((v) => `--${v} VALUE`), ...FLAGS.map((f) => `--${f}`)].join(", ")}`);
  }
  if (VALUED.includes(name) && (++i >= args.length || args[i].startsWith("--"))) usage(`--${name} needs a value`);
}
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const intOpt = (name, dflt, min) => {
  const v = Number(opt(name, dflt));
  if (!Number.isInteger(v) || v < min) usage(`--${name} must be a whole number >= ${min}, not ${JSON.stringify(opt(name))}`);
  return v;
};
const N = intOpt("n", 5000, 1);
const CONCURRENCY = intOpt("concurrency", 16, 1);
// small batches, many pairs: this VM's speed moves by about ±10 % within 50 ms, so the median
// needs many pairs more than long ones
const BATCH = intOpt("batch", 200, 1);
const ROUNDS = intOpt("rounds", 3, 1);
const JSON_PATH = opt("json", null);
const E2E = args.includes("--e2e");
const USERS = intOpt("users", 1000, 1);
const ZIPF = Number(opt("zipf", 1.0));
if (!(ZIPF > 0 && ZIPF <= 10)) usage(`--zipf must be a number above 0 and at most 10 (e.g. 1.0), not ${JSON.stringify(opt("zipf"))}`);
const COLD = intOpt("cold", 2000, 8); // measured in 8 interleaved chunks
// --instructions
const IN = intOpt("instr-n", 3000, 1);
const LO = intOpt("instr-lo", 500, 1);
const MIX_HITS = Number(opt("mix-hits", 0.969));
if (!(MIX_HITS > 0 && MIX_HITS <= 1)) usage(`--mix-hits must be a share of cached tokens above 0 and at most 1 (e.g. 0.969), not ${JSON.stringify(opt("mix-hits"))}`);
const THRESHOLD = 0.9;
const INSTRUCTIONS = args.includes("--instructions");

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const ROUTER_SCRIPT = process.env.BENCH_ROUTER_SCRIPT ?? here("../src/worker.js"); // for A/B of variants

const KEY = generateKeyPairSync("rsa", { modulusLength: 2048 });
const JWKS = JSON.stringify({ keys: [{ ...KEY.publicKey.export({ format: "jwk" }), kid: "bench-1", alg: "RS256", use: "sig" }] });
const ISSUER = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Bench";
const AUDIENCE = "bench-client";
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const HEADER = b64({ alg: "RS256", typ: "JWT", kid: "bench-1" });
const exp = Math.floor(Date.now() / 1000) + 3600;
function idToken(sub, cell) {
  const body = b64({
    sub, iss: ISSUER, aud: AUDIENCE, token_use: "id", auth_time: exp - 3600, iat: exp - 3600, exp,
    email: `${sub}@example.com`, email_verified: true, "custom:home_zone": cell.startsWith("eu") ? "eu" : "us", "custom:home_cell": cell,
    "cognito:username": sub, event_id: `e-${sub}`, origin_jti: `o-${sub}`, jti: `j-${sub}`,
  });
  return `${HEADER}.${body}.${sign("sha256", Buffer.from(`${HEADER}.${body}`), KEY.privateKey).toString("base64url")}`;
}
const CELL_OF = (i) => ["eu-central-1", "eu-west-1", "us-east-1"][i % 3];
const users = Array.from({ length: USERS }, (_, i) => idToken(`user-${i}`, CELL_OF(i)));
// the timed mode's never-seen tokens (the instruction mode signs its own, as many as it measures)
const coldTokens = INSTRUCTIONS ? [] : Array.from({ length: COLD }, (_, i) => idToken(`cold-${i}`, "eu-central-1"));
// Zipf(ZIPF) over the users, deterministic (mulberry32, fixed seed)
let seedState = 0x5eed;
const rand = () => {
  seedState = (seedState + 0x6d2b79f5) >>> 0;
  let t = seedState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const weights = users.map((_, i) => 1 / Math.pow(i + 1, ZIPF));
const cdf = [];
weights.reduce((acc, w, i) => (cdf[i] = acc + w), 0);
const nextUser = () => {
  const x = rand() * cdf[cdf.length - 1];
  let lo = 0, hi = cdf.length - 1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
};

const UPSTREAM = `export default { async fetch(req, env) {
  const u = new URL(req.url);
  if (u.pathname.endsWith("/jwks.json")) return new Response(env.JWKS, { headers: { "content-type": "application/json" } });
  // the sanity probe (not measured): which cell the router reached, and what it told the cell
  // (no x-myark-route-reason: routed by the verified home cell claim)
  if (u.pathname === "/probe") return new Response(u.host + " " + (req.headers.get("x-myark-route-reason") ?? "claim"));
  if (req.body) await req.arrayBuffer();
  return new Response("ok", { headers: { "content-type": "text/plain" } });
} };`;
// --cf-headers: each request also carries the headers Cloudflare adds in front of a Worker (the
// router rewrites X-Forwarded-For from CF-Connecting-IP and drops the forwarding ones)
const CF_HEADERS = args.includes("--cf-headers") ? {
  "cf-connecting-ip": "203.0.113.7", "cf-ipcountry": "DE", "cf-ray": "8f1c2d3e4a5b6c7d-FRA", "cf-visitor": '{"scheme":"https"}',
  "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-real-ip": "203.0.113.7", "accept-encoding": "gzip, br",
} : {};
const CF_ON = Object.keys(CF_HEADERS).length > 0;
const DRIVER = `let tokens = [];
const extra = ${JSON.stringify(CF_HEADERS)};
export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    if (u.pathname === "/setup") { tokens = await req.json(); return new Response("ok"); }
    const q = u.searchParams;
    const c = Number(q.get("c"));
    const target = q.get("w") === "router" ? env.ROUTER : env.PASSTHROUGH;
    const seq = await req.json(); // token index per request
    const n = seq.length;
    const base = { "user-agent": "myark-bench", accept: "application/json", ...extra };
    let next = 0, bad = 0;
    const lane = async () => {
      while (next < n) {
        const i = next++;
        const headers = { ...base, authorization: "Bearer " + tokens[seq[i]] };
        const r = await target.fetch("https://api.myark.io/v1/items/" + i + "?x=1", { headers, cf: { country: "DE" } });
        await r.arrayBuffer();
        if (r.status !== 200) bad++;
      }
    };
    const t0 = Date.now(); // advances with each I/O in workerd: fine at this scale
    await Promise.all(Array.from({ length: Math.min(c, n) }, lane));
    return Response.json({ ms: Date.now() - t0, bad });
  },
};`;
const OPTIONS = {
  cf: false,
  logRequests: false,
  workers: [
    {
      name: "driver",
      modules: true,
      script: DRIVER,
      compatibilityDate: "2025-04-01",
      serviceBindings: { ROUTER: "router", PASSTHROUGH: "passthrough" },
    },
    {
      name: "router",
      modules: true,
      scriptPath: ROUTER_SCRIPT,
      compatibilityDate: "2025-04-01",
      kvNamespaces: ["DIRECTORY"],
      bindings: {
        CONTROL_PLANE_ORIGIN: "https://auth.myark.io",
        DEFAULT_ZONE: "us",
        COUNTRY_ZONES: JSON.stringify({ DE: "eu", FR: "eu", US: "us" }),
        CELL_CACHE_TTL_SECONDS: "30",
        JWKS_URL: "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Bench/.well-known/jwks.json",
        TOKEN_ISSUER: ISSUER,
        TOKEN_AUDIENCE: AUDIENCE,
      },
      outboundService: "upstream",
    },
    {
      name: "passthrough",
      modules: true,
      scriptPath: here("./passthrough.js"),
      compatibilityDate: "2025-04-01",
      bindings: { ORIGIN: "https://eu-central-1.api.myark.io" },
      outboundService: "upstream",
    },
    { name: "upstream", modules: true, script: UPSTREAM, compatibilityDate: "2025-04-01", bindings: { JWKS } },
  ],
};
const CELLS = [["eu-central-1", "eu", true], ["eu-west-1", "eu", false], ["us-east-1", "us", true], ["us-west-2", "us", false]];

// --instructions (the method: see the header of this file). Each count's two workerd processes get
// the same set-up (cell table, the probe, then for a hot or mix count every user's token sent once
// and WARM Zipf requests to both workers) before the measured worker's LO or LO + N requests.
// Under valgrind workerd runs about 50 times slower, so work that the router does per unit of TIME
// (the cell table refresh every CELL_CACHE_TTL_SECONDS, bounded by KV_TIMEOUT_MS) would weigh about
// 50 times more per request than in production, and more in the longer of the two processes: in
// this mode the table lives for a day and KV reads wait up to a minute.
// valgrind runs a process's threads one at a time, and by default hands the CPU back to the
// thread that held it, so workerd's background threads starve. One of them is cppgc's concurrent
// sweeper (the heap of workerd's C++ objects): after a major garbage collection the main thread
// then re-posts an incremental sweep task at every turn of its event loop until the starved
// sweeper finishes, about 0.6 to 1.5 M instructions per request (measured with callgrind: cppgc
// sweeper, task queue, clock reads). Natively that thread runs on another core. --fair-sched=yes
// (round-robin between threads) removes this artefact: a cold verification then counts 0.45 M, of
// which RSA and SHA-256 are 0.29 M, instead of an erratic 1.0 to 1.9 M; the hot path is unchanged.
const INSTR_OPTIONS = {
  ...OPTIONS,
  workers: OPTIONS.workers.map((w) => (w.name === "router"
    ? { ...w, bindings: { ...w.bindings, CELL_CACHE_TTL_SECONDS: "86400", KV_TIMEOUT_MS: "60000" } }
    : w)),
};

async function countInstructions() {
  const vg = spawnSync("valgrind", ["--version"], { encoding: "utf8" });
  if (vg.error || vg.status !== 0) {
    console.log("instruction count skipped: valgrind is not installed");
    return 0;
  }
  const WARM = 500;
  const workerd = (await import("workerd")).default.default;
  const dir = mkdtempSync(join(tmpdir(), "myark-bench-instr-"));
  const warm = userSeqPlain(WARM);
  const measured = userSeqPlain(LO + IN);
  // first-seen tokens for the cold count, after the users' in the driver's table
  const fresh = Array.from({ length: LO + IN }, (_, i) => idToken(`fresh-${i}`, CELL_OF(i)));
  const freshSeq = fresh.map((_, i) => USERS + i);
  // the realistic mix: the hot count's Zipf sequence with a share (1 - mix-hits) of its requests,
  // evenly spread, replaced by first-seen tokens (so the token cache hits exactly mix-hits of them)
  const miss = 1 - MIX_HITS;
  let nextFresh = USERS;
  const mixed = measured.map((u, i) => (Math.floor((i + 1) * miss) > Math.floor(i * miss) ? nextFresh++ : u));
  let starting = Promise.resolve();
  // kind: "hot" (every token cached), "mix" (the same set-up, then the mixed sequence) or "cold"
  // (the router gets only first-seen tokens: no warm-up of the token cache)
  const run = async (tag, w, count, kind) => {
    const wrapper = join(dir, `workerd-${tag}.sh`);
    writeFileSync(wrapper, `#!/bin/sh\necho $$ > '${dir}/pid-${tag}'\nexec valgrind --tool=cachegrind --cache-sim=no --branch-sim=no --fair-sched=yes ` +
      `--smc-check=all-non-file --cachegrind-out-file=/dev/null --log-file='${dir}/vg-${tag}.log' '${workerd}' "$@"\n`, { mode: 0o755 });
    // Miniflare spawns workerd from MINIFLARE_WORKERD_PATH: one start-up at a time
    const started = starting.then(async () => {
      process.env.MINIFLARE_WORKERD_PATH = wrapper;
      const mf = new Miniflare(INSTR_OPTIONS);
      await mf.ready;
      return mf;
    });
    starting = started.catch(() => {});
    const m = await started;
    try {
      const kv = await m.getKVNamespace("DIRECTORY", "router");
      for (const [name, zone, def] of CELLS) {
        await kv.put(`cell:${name}`, JSON.stringify({ name, zone, origin: `https://${name}.api.myark.io`, default: def }));
      }
      await kv.put("status:eu-west-1", "draining");
      const send = async (path, init) => (await m.dispatchFetch(`http://driver.local${path}`, { ...init, headers: { "MF-Route-Override": "driver" } })).json();
      await (await m.dispatchFetch("http://driver.local/setup", {
        method: "POST", body: JSON.stringify([...users, ...fresh]), headers: { "MF-Route-Override": "driver" },
      })).text();
      const batchOf = async (worker, seq) => {
        const out = await send(`/?w=${worker}&c=${CONCURRENCY}`, { method: "POST", body: JSON.stringify(seq) });
        if (out.bad) throw new Error(`${worker}: ${out.bad} of ${seq.length} requests did not answer 200`);
      };
      const probe = await m.dispatchFetch("https://api.myark.io/probe", {
        headers: { authorization: `Bearer ${users[0]}`, "MF-Route-Override": "router" }, cf: { country: "DE" },
      });
      const probeText = await probe.text();
      if (!process.env.BENCH_ROUTER_SCRIPT && probeText !== `${CELL_OF(0)}.api.myark.io claim`) throw new Error(`router probe failed: ${probeText}`);
      if (kind === "cold") {
        await batchOf(w, freshSeq.slice(0, count));
      } else {
        const everyone = users.map((_, i) => i);
        for (const worker of ["router", "passthrough"]) await batchOf(worker, everyone);
        for (const worker of ["router", "passthrough"]) await batchOf(worker, warm);
        await batchOf(w, (kind === "mix" ? mixed : measured).slice(0, count));
      }
      // valgrind writes its count when workerd exits: SIGTERM it (Miniflare's dispose would SIGKILL)
      const pid = Number(readFileSync(join(dir, `pid-${tag}`), "utf8"));
      process.kill(pid, "SIGTERM");
      const log = join(dir, `vg-${tag}.log`);
      for (let i = 0; i < 600 && !/I\s+refs:/.test(readFileSync(log, "utf8")); i++) await new Promise((r) => setTimeout(r, 100));
      const found = /I\s+refs:\s+([\d,]+)/.exec(readFileSync(log, "utf8"));
      if (!found) throw new Error(`no instruction count in ${log}`);
      return Number(found[1].replace(/,/g, ""));
    } finally {
      await m.dispose();
    }
  };
  try {
    const t0 = Date.now();
    const perRequest = {};
    const counts = [["router", "router", "hot"], ["passthrough", "passthrough", "hot"], ["router_cold", "router", "cold"], ["router_mix", "router", "mix"]];
    for (const [key, w, kind] of counts) {
      // the two processes of one count run side by side (a count does not depend on load)
      const [lo, hi] = await Promise.all([run(`${key}-lo`, w, LO, kind), run(`${key}-hi`, w, LO + IN, kind)]);
      perRequest[key] = (hi - lo) / IN;
    }
    const ratio = perRequest.passthrough / perRequest.router;
    const coldCost = perRequest.router_cold - perRequest.router;
    // the mix, counted: the hot count's set-up and sequence, with first-seen tokens mixed in
    const mixHits = mixed.slice(LO, LO + IN).filter((u) => u < USERS).length / IN;
    const mixRatio = perRequest.passthrough / perRequest.router_mix;
    // and derived from the other counts, as a cross-check: hot + misses x cold cost
    const derivedRouter = perRequest.router + (1 - mixHits) * coldCost;
    const derivedRatio = perRequest.passthrough / derivedRouter;
    const pass = ratio >= THRESHOLD && mixRatio >= THRESHOLD;
    const M = (x) => `${(x / 1e6).toFixed(3)} M`;
    console.log(`instructions per request in workerd (valgrind, ${IN} requests by difference, incl. driver and upstream${CF_ON ? ", with Cloudflare's request headers" : ""}):`);
    console.log(`router       ${M(perRequest.router)} (cached tokens)`);
    console.log(`passthrough  ${M(perRequest.passthrough)}`);
    console.log(`instruction ratio, hot path (passthrough / router per request, every token cached): ${ratio.toFixed(3)} (threshold ${THRESHOLD}) ${ratio >= THRESHOLD ? "PASS" : "FAIL"}`);
    console.log(`cold verification: router ${M(perRequest.router_cold)} per request with a first-seen token: ${M(coldCost)} more than with a cached one`);
    console.log(`realistic mix, ${(mixHits * 100).toFixed(1)} % of tokens cached (--mix-hits; the timed mode's hit ratio over 5 rounds), counted: router ${M(perRequest.router_mix)}`);
    console.log(`  (derived from the counts above, hot + misses x cold: ${M(derivedRouter)}, ratio ${derivedRatio.toFixed(3)})`);
    console.log(`instruction ratio with the realistic mix (passthrough / router per request): ${mixRatio.toFixed(3)} (threshold ${THRESHOLD}) ${mixRatio >= THRESHOLD ? "PASS" : "FAIL"}  [${((Date.now() - t0) / 1000).toFixed(0)} s]`);
    if (JSON_PATH) {
      await writeFile(JSON_PATH, JSON.stringify({
        mode: "instructions", requests: IN, lo: LO, users: USERS, zipf: ZIPF, cf_headers: CF_ON,
        instructions_per_request: perRequest, ratio, cold_verification_instructions: coldCost,
        mix: { hit_ratio: mixHits, router: perRequest.router_mix, ratio: mixRatio, derived: { router: derivedRouter, ratio: derivedRatio } },
        threshold: THRESHOLD, pass, valgrind: vg.stdout.trim(),
      }, null, 2) + "\n");
    }
    return pass ? 0 : 1;
  } finally {
    delete process.env.MINIFLARE_WORKERD_PATH;
    rmSync(dir, { recursive: true, force: true });
  }
}

// a Zipf sequence of user indices (the instruction mode's; counts nothing)
function userSeqPlain(n) {
  return Array.from({ length: n }, nextUser);
}

if (INSTRUCTIONS) process.exit(await countInstructions());

const mf = new Miniflare(OPTIONS);

// workerd's CPU time (user + system, seconds), or null where /proc is not there
const TICK = 100; // USER_HZ on Linux
function workerdPids() {
  try {
    return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return ppid === process.pid && stat.includes("(workerd)");
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}
let pids = [];
function cpuSeconds() {
  if (!pids.length) return null;
  let t = 0;
  for (const pid of pids) {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").slice(readFileSync(`/proc/${pid}/stat`, "utf8").lastIndexOf(")") + 2).split(" ");
    t += (Number(f[11]) + Number(f[12])) / TICK;
  }
  return t;
}

try {
  const kv = await mf.getKVNamespace("DIRECTORY", "router");
  for (const [name, zone, def] of CELLS) {
    await kv.put(`cell:${name}`, JSON.stringify({ name, zone, origin: `https://${name}.api.myark.io`, default: def }));
  }
  await kv.put("status:eu-west-1", "draining");
  pids = workerdPids();

  const headers = { authorization: `Bearer ${users[0]}`, "user-agent": "myark-bench", accept: "application/json" };
  const setup = await mf.dispatchFetch("http://driver.local/setup", {
    method: "POST", body: JSON.stringify([...users, ...coldTokens]), headers: { "MF-Route-Override": "driver" },
  });
  await setup.text();

  async function batch(w, seq, c = CONCURRENCY) {
    const cpu0 = cpuSeconds();
    const res = await mf.dispatchFetch(`http://driver.local/?${new URLSearchParams({ w, c })}`, {
      method: "POST", body: JSON.stringify(seq), headers: { "MF-Route-Override": "driver" },
    });
    const out = await res.json();
    const cpu1 = cpuSeconds();
    if (out.bad) throw new Error(`${w}: ${out.bad} of ${seq.length} requests did not answer 200`);
    return { ms: out.ms, cpu: cpu0 === null ? null : cpu1 - cpu0 };
  }
  // the router's verified-token cache holds every token it has verified (fewer than its 4,096 bound)
  const seen = new Set();
  let hits = 0;
  let measured = 0;
  const userSeq = (n, count) => {
    const seq = Array.from({ length: n }, nextUser);
    for (const i of seq) {
      if (count) { measured++; if (seen.has(i)) hits++; }
      seen.add(i);
    }
    return seq;
  };

  // sanity: the router really verifies and routes by the token (this also warms its tables)
  const probe = await mf.dispatchFetch("https://api.myark.io/probe", {
    headers: { ...headers, "MF-Route-Override": "router" }, cf: { country: "DE" },
  });
  const probeText = await probe.text();
  seen.add(0);
  if (probe.status !== 200 || (!process.env.BENCH_ROUTER_SCRIPT && probeText !== `${CELL_OF(0)}.api.myark.io claim`)) {
    throw new Error(`router probe failed: ${probe.status} ${probeText}`);
  }
  const forged = await mf.dispatchFetch("https://api.myark.io/v1/me", {
    headers: { authorization: `Bearer ${users[0].slice(0, -8)}AAAAAAAA`, "MF-Route-Override": "router" }, cf: { country: "DE" },
  });
  await forged.arrayBuffer();
  if (forged.status !== 401 && !process.env.BENCH_ROUTER_SCRIPT) throw new Error(`router accepted a forged token: ${forged.status}`);
  const warm = userSeq(500, false); // warm-up, not counted
  await batch("router", warm);
  await batch("passthrough", warm);

  const acc = { router: { n: 0, ms: 0, cpu: 0 }, passthrough: { n: 0, ms: 0, cpu: 0 } };
  const perRound = [];
  let k = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const round = { router: { n: 0, ms: 0 }, passthrough: { n: 0, ms: 0 }, pairs: [] };
    for (let done = 0; done < N; done += BATCH, k++) {
      const size = Math.min(BATCH, N - done);
      const seq = userSeq(size, true); // the same tokens for both
      const pair = {};
      for (const w of k % 2 ? ["passthrough", "router"] : ["router", "passthrough"]) {
        const b = await batch(w, seq);
        for (const a of [acc[w], round[w]]) { a.n += size; a.ms += b.ms; }
        acc[w].cpu += b.cpu ?? 0;
        pair[w] = b.ms;
      }
      round.pairs.push(pair.passthrough / pair.router); // = router rps / passthrough rps
    }
    perRound.push(round);
  }
  const hitRatio = hits / measured;

  // cold verification: never-seen tokens vs one cached token, same concurrency, in interleaved
  // chunks so that load from other processes hits both alike
  const CHUNKS = 8;
  const hot = { ms: 0, cpu: 0 };
  const cold = { ms: 0, cpu: 0 };
  for (let c = 0; c < CHUNKS; c++) {
    const lo = Math.floor((c * COLD) / CHUNKS);
    const hi = Math.floor(((c + 1) * COLD) / CHUNKS);
    const h = await batch("router", Array.from({ length: hi - lo }, () => 0));
    const k = await batch("router", Array.from({ length: hi - lo }, (_, i) => USERS + lo + i));
    hot.ms += h.ms;
    hot.cpu += h.cpu ?? 0;
    cold.ms += k.ms;
    cold.cpu += k.cpu ?? 0;
  }
  const coldCost = {
    ms_per_request_cold: cold.ms / COLD,
    ms_per_request_cached: hot.ms / COLD,
    verify_ms: (cold.ms - hot.ms) / COLD,
    verify_cpu_us: pids.length ? ((cold.cpu - hot.cpu) / COLD) * 1e6 : null,
  };
  const rps = (a) => a.n / (a.ms / 1000);
  const router = rps(acc.router);
  const passthrough = rps(acc.passthrough);
  const median = (xs) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  const pairRatios = perRound.flatMap((r) => r.pairs);
  const ratio = median(pairRatios);
  const aggregateRatio = router / passthrough;
  const pass = ratio >= THRESHOLD;
  const cpuUs = (a) => (pids.length ? (a.cpu / a.n) * 1e6 : null);
  const fmt = (x) => x.toFixed(0).padStart(6);

  console.log(`in workerd: ${N} requests per worker per round, concurrency ${CONCURRENCY}, alternating batches of ${BATCH}, ${ROUNDS} rounds` +
    (CF_ON ? ", with Cloudflare's request headers" : ""));
  for (const [i, r] of perRound.entries()) {
    console.log(`  round ${i + 1}: router ${fmt(rps(r.router))} rps  passthrough ${fmt(rps(r.passthrough))} rps  ratio ${(rps(r.router) / rps(r.passthrough)).toFixed(3)}  median of its ${r.pairs.length} pairs ${median(r.pairs).toFixed(3)}`);
  }
  const cpuNote = (a) => (pids.length ? `   workerd CPU ${cpuUs(a).toFixed(0)} us/request (incl. driver and upstream)` : "");
  console.log(`router       ${fmt(router)} rps${cpuNote(acc.router)}`);
  console.log(`passthrough  ${fmt(passthrough)} rps${cpuNote(acc.passthrough)}`);
  const cpuRatio = pids.length ? cpuUs(acc.passthrough) / cpuUs(acc.router) : null;
  if (cpuRatio !== null) console.log(`CPU-based ratio (passthrough CPU / router CPU per request): ${cpuRatio.toFixed(3)}`);
  console.log(`aggregate ratio (all requests / all time) ${aggregateRatio.toFixed(3)}; pair ratios from ${Math.min(...pairRatios).toFixed(3)} to ${Math.max(...pairRatios).toFixed(3)}`);
  console.log(`ratio router/passthrough (median of ${pairRatios.length} pairs) ${ratio.toFixed(3)} (threshold ${THRESHOLD}) ${pass ? "PASS" : "FAIL"}`);
  console.log(`verified-token cache: ${USERS} users, Zipf ${ZIPF}: hit ratio ${(hitRatio * 100).toFixed(1)} % over ${measured} measured requests`);
  console.log(`cold verification (${COLD} never-seen tokens vs a cached one, ${CONCURRENCY} in flight): ${coldCost.ms_per_request_cold.toFixed(3)} ms vs ${coldCost.ms_per_request_cached.toFixed(3)} ms of wall time per request: ${coldCost.verify_ms.toFixed(3)} ms` +
    (coldCost.verify_cpu_us === null ? "" : `, workerd CPU ${coldCost.verify_cpu_us.toFixed(0)} us`) + " per cold verification");

  let e2e = null;
  if (E2E) {
    const run = async (w, n) => {
      let next = 0;
      const t0 = process.hrtime.bigint();
      const lane = async () => {
        while (next < n) {
          const i = next++;
          const res = await mf.dispatchFetch(`https://api.myark.io/v1/items/${i}?x=1`, {
            headers: { ...headers, "MF-Route-Override": w }, cf: { country: "DE" },
          });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`${w}: status ${res.status}`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
      return n / (Number(process.hrtime.bigint() - t0) / 1e9);
    };
    const n = Math.min(N, 2000);
    await run("router", 200);
    await run("passthrough", 200);
    const a = await run("router", n);
    const b = await run("passthrough", n);
    e2e = { n, router_rps: a, passthrough_rps: b, ratio: a / b };
    console.log(`e2e via dispatchFetch (${n} each, informational): router ${fmt(a)} rps  passthrough ${fmt(b)} rps  ratio ${(a / b).toFixed(3)}`);
  }

  if (JSON_PATH) {
    const pkg = JSON.parse(readFileSync(here("../node_modules/miniflare/package.json"), "utf8"));
    await writeFile(JSON_PATH, JSON.stringify({
      n: N, concurrency: CONCURRENCY, batch: BATCH, rounds: ROUNDS, cf_headers: CF_ON,
      router_rps: router, passthrough_rps: passthrough, ratio, ratio_statistic: "median of pair ratios",
      aggregate_ratio: aggregateRatio, pair_ratios: pairRatios, threshold: THRESHOLD, pass,
      verification: { users: USERS, zipf: ZIPF, token_cache_hit_ratio: hitRatio, measured_requests: measured, cold: coldCost },
      per_round: perRound.map((r) => ({
        router_rps: rps(r.router), passthrough_rps: rps(r.passthrough), ratio: rps(r.router) / rps(r.passthrough), median_pair_ratio: median(r.pairs),
      })),
      workerd_cpu_us_per_request: pids.length ? { router: cpuUs(acc.router), passthrough: cpuUs(acc.passthrough), ratio: cpuRatio } : null,
      e2e, node: process.version, miniflare: pkg.version,
    }, null, 2) + "\n");
  }
  process.exitCode = pass ? 0 : 1;
} finally {
  await mf.dispose();
}
