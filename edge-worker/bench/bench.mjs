// Router vs pass-through throughput, both in workerd (Miniflare 4), same stubbed upstream.
//
//   node bench/bench.mjs [--n 5000] [--concurrency 16] [--batch 250] [--rounds 3] [--json PATH] [--e2e]
//
// Workers in one Miniflare instance:
//   router      src/worker.js, real KV holding a cell table, warm cache, token naming its cell
//   passthrough bench/passthrough.js: forwards every request to one fixed origin
//   upstream    a tiny worker, the outbound service of both: nothing leaves workerd
//   driver      sends `batch` requests to one of them through a service binding, with
//               `concurrency` in flight, and times them
// Each round sends N requests to each worker in batches that alternate router, passthrough,
// passthrough, router, ... so that noise from a shared machine hits both alike.
// rps = requests / time over all rounds; PASS when router rps / passthrough rps >= 0.90.
// Also reported: workerd CPU time per request (from /proc, Linux), which other processes on
// the machine do not distort. --e2e adds a client's-eye figure through dispatchFetch
// (HTTP over loopback), where Node and Miniflare's entry worker dominate.

import { readFileSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const N = Number(opt("n", 5000));
const CONCURRENCY = Number(opt("concurrency", 16));
const BATCH = Number(opt("batch", 250));
const ROUNDS = Number(opt("rounds", 3));
const JSON_PATH = opt("json", null);
const E2E = args.includes("--e2e");
const THRESHOLD = 0.9;

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const ROUTER_SCRIPT = process.env.BENCH_ROUTER_SCRIPT ?? here("../src/worker.js"); // for A/B of variants

const UPSTREAM = `export default { async fetch(req) {
  if (req.body) await req.arrayBuffer();
  return new Response("ok", { headers: { "content-type": "text/plain" } });
} };`;
const DRIVER = `export default {
  async fetch(req, env) {
    const q = new URL(req.url).searchParams;
    const n = Number(q.get("n")), c = Number(q.get("c"));
    const target = q.get("w") === "router" ? env.ROUTER : env.PASSTHROUGH;
    const headers = JSON.parse(q.get("headers"));
    let next = 0, bad = 0;
    const lane = async () => {
      while (next < n) {
        const i = next++;
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

const mf = new Miniflare({
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
    { name: "upstream", modules: true, script: UPSTREAM, compatibilityDate: "2025-04-01" },
  ],
});

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
  for (const [name, zone, def] of [["eu-central-1", "eu", true], ["eu-west-1", "eu", false], ["us-east-1", "us", true], ["us-west-2", "us", false]]) {
    await kv.put(`cell:${name}`, JSON.stringify({ name, zone, origin: `https://${name}.api.myark.io`, default: def }));
  }
  await kv.put("status:eu-west-1", "draining");
  pids = workerdPids();

  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const token = [
    b64({ alg: "RS256", typ: "JWT", kid: "k1" }),
    b64({ sub: "user-123", home_cell: "eu-central-1", home_zone: "eu", iat: 1700000000, exp: 4102444800 }),
    Buffer.alloc(256, 7).toString("base64url"),
  ].join(".");
  const headers = { authorization: `Bearer ${token}`, "user-agent": "myark-bench", accept: "application/json" };
  const driverQuery = (w, n) => new URLSearchParams({ w, n, c: CONCURRENCY, headers: JSON.stringify(headers) });

  async function batch(w, n) {
    const cpu0 = cpuSeconds();
    const res = await mf.dispatchFetch(`http://driver.local/?${driverQuery(w, n)}`, { headers: { "MF-Route-Override": "driver" } });
    const out = await res.json();
    const cpu1 = cpuSeconds();
    if (out.bad) throw new Error(`${w}: ${out.bad} of ${n} requests did not answer 200`);
    return { ms: out.ms, cpu: cpu0 === null ? null : cpu1 - cpu0 };
  }

  // sanity: the router really routes by the token (this also warms its cache)
  const probe = await mf.dispatchFetch("https://api.myark.io/v1/me", {
    headers: { ...headers, "MF-Route-Override": "router" }, cf: { country: "DE" },
  });
  await probe.arrayBuffer();
  if (probe.status !== 200 || probe.headers.get("x-myark-cell") !== "eu-central-1") {
    throw new Error(`router probe failed: ${probe.status} ${probe.headers.get("x-myark-cell")}`);
  }
  await batch("router", 500); // warm-up, not counted
  await batch("passthrough", 500);

  const acc = { router: { n: 0, ms: 0, cpu: 0 }, passthrough: { n: 0, ms: 0, cpu: 0 } };
  const perRound = [];
  let k = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const round = { router: { n: 0, ms: 0 }, passthrough: { n: 0, ms: 0 } };
    for (let done = 0; done < N; done += BATCH, k++) {
      const size = Math.min(BATCH, N - done);
      for (const w of k % 2 ? ["passthrough", "router"] : ["router", "passthrough"]) {
        const b = await batch(w, size);
        for (const a of [acc[w], round[w]]) { a.n += size; a.ms += b.ms; }
        acc[w].cpu += b.cpu ?? 0;
      }
    }
    perRound.push(round);
  }
  const rps = (a) => a.n / (a.ms / 1000);
  const router = rps(acc.router);
  const passthrough = rps(acc.passthrough);
  const ratio = router / passthrough;
  const pass = ratio >= THRESHOLD;
  const cpuUs = (a) => (pids.length ? (a.cpu / a.n) * 1e6 : null);
  const fmt = (x) => x.toFixed(0).padStart(6);

  console.log(`in workerd: ${N} requests per worker per round, concurrency ${CONCURRENCY}, alternating batches of ${BATCH}, ${ROUNDS} rounds`);
  for (const [i, r] of perRound.entries()) {
    console.log(`  round ${i + 1}: router ${fmt(rps(r.router))} rps  passthrough ${fmt(rps(r.passthrough))} rps  ratio ${(rps(r.router) / rps(r.passthrough)).toFixed(3)}`);
  }
  const cpuNote = (a) => (pids.length ? `   workerd CPU ${cpuUs(a).toFixed(0)} us/request (incl. driver and upstream)` : "");
  console.log(`router       ${fmt(router)} rps${cpuNote(acc.router)}`);
  console.log(`passthrough  ${fmt(passthrough)} rps${cpuNote(acc.passthrough)}`);
  const cpuRatio = pids.length ? cpuUs(acc.passthrough) / cpuUs(acc.router) : null;
  if (cpuRatio !== null) console.log(`CPU-based ratio (passthrough CPU / router CPU per request): ${cpuRatio.toFixed(3)}`);
  console.log(`ratio router/passthrough ${ratio.toFixed(3)} (threshold ${THRESHOLD}) ${pass ? "PASS" : "FAIL"}`);

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
      n: N, concurrency: CONCURRENCY, batch: BATCH, rounds: ROUNDS,
      router_rps: router, passthrough_rps: passthrough, ratio, threshold: THRESHOLD, pass,
      per_round: perRound.map((r) => ({ router_rps: rps(r.router), passthrough_rps: rps(r.passthrough) })),
      workerd_cpu_us_per_request: pids.length ? { router: cpuUs(acc.router), passthrough: cpuUs(acc.passthrough), ratio: cpuRatio } : null,
      e2e, node: process.version, miniflare: pkg.version,
    }, null, 2) + "\n");
  }
  process.exitCode = pass ? 0 : 1;
} finally {
  await mf.dispose();
}
