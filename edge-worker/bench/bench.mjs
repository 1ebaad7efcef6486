// Router vs pass-through throughput, both in workerd (Miniflare 4), same stubbed upstream.
//
//   node bench/bench.mjs [--n 5000] [--concurrency 16] [--batch 250] [--rounds 3] [--json PATH] [--e2e]
//
// Workers in one Miniflare instance:
//   router      src/worker.js, real KV with a cell table, warm cache, token naming its cell
//   passthrough bench/passthrough.js: forwards to one fixed origin
//   upstream    a tiny worker; the outbound service of both, so nothing leaves workerd
//   driver      sends the load through service bindings, `concurrency` requests in flight
// Per round the driver sends N requests to each worker, in batches that alternate between
// the two (router, passthrough, passthrough, router, ...) so that noise from a shared
// machine hits both alike, and adds up each worker's time. rps = requests / time, over all
// rounds; PASS when router/passthrough >= 0.90.
// --e2e also measures from Node through Miniflare's dispatchFetch (HTTP over loopback):
// closer to a client's view, but Node and Miniflare's entry worker dominate that figure.

import { writeFile, readFile } from "node:fs/promises";
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
const UPSTREAM = `export default { async fetch(req) {
  if (req.body) await req.arrayBuffer();
  return new Response("ok", { headers: { "content-type": "text/plain" } });
} };`;
const DRIVER = `
async function load(target, n, c, headers) {
  let next = 0, bad = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const r = await target.fetch("https://api.myark.io/v1/items/" + i + "?x=1", { headers, cf: { country: "DE" } });
      await r.arrayBuffer();
      if (r.status !== 200) bad++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(c, n) }, lane));
  return bad;
}
export default {
  async fetch(req, env) {
    const q = new URL(req.url).searchParams;
    const n = Number(q.get("n")), c = Number(q.get("c")), batch = Number(q.get("batch"));
    const headers = JSON.parse(q.get("headers"));
    const ms = { router: 0, passthrough: 0 };
    let bad = 0, i = 0;
    for (let done = 0; done < n; done += batch, i++) {
      const size = Math.min(batch, n - done);
      for (const w of i % 2 ? ["passthrough", "router"] : ["router", "passthrough"]) {
        const t0 = Date.now(); // advances with I/O in workerd: fine at this scale
        bad += await load(w === "router" ? env.ROUTER : env.PASSTHROUGH, size, c, headers);
        ms[w] += Date.now() - t0;
      }
    }
    return Response.json({ ms, bad });
  },
};`;

const ORIGIN = "https://eu-central-1.api.myark.io";
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
      scriptPath: here("../src/worker.js"),
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
      bindings: { ORIGIN },
      outboundService: "upstream",
    },
    { name: "upstream", modules: true, script: UPSTREAM, compatibilityDate: "2025-04-01" },
  ],
});

const kv = await mf.getKVNamespace("DIRECTORY", "router");
for (const [name, zone, def] of [["eu-central-1", "eu", true], ["eu-west-1", "eu", false], ["us-east-1", "us", true], ["us-west-2", "us", false]]) {
  await kv.put(`cell:${name}`, JSON.stringify({ name, zone, origin: `https://${name}.api.myark.io`, default: def }));
}
await kv.put("status:eu-west-1", "draining");

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const token = [
  b64({ alg: "RS256", typ: "JWT", kid: "k1" }),
  b64({ sub: "user-123", home_cell: "eu-central-1", home_zone: "eu", iat: 1700000000, exp: 4102444800 }),
  Buffer.alloc(256, 7).toString("base64url"),
].join(".");
const headers = { authorization: `Bearer ${token}`, "user-agent": "myark-bench", accept: "application/json" };

async function driverRound(n) {
  const q = new URLSearchParams({ n, c: CONCURRENCY, batch: BATCH, headers: JSON.stringify(headers) });
  const res = await mf.dispatchFetch(`http://driver.local/?${q}`, { headers: { "MF-Route-Override": "driver" } });
  const out = await res.json();
  if (out.bad) throw new Error(`${out.bad} requests did not answer 200`);
  return out.ms;
}

async function e2e(worker, n) {
  let next = 0;
  const t0 = process.hrtime.bigint();
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const res = await mf.dispatchFetch(`https://api.myark.io/v1/items/${i}?x=1`, {
        headers: { ...headers, "MF-Route-Override": worker },
        cf: { country: "DE" },
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${worker}: status ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const fmt = (x) => x.toFixed(0).padStart(6);
try {
  // sanity: the router really routes to the token's cell (this also warms its cache)
  const probe = await mf.dispatchFetch("https://api.myark.io/v1/me", {
    headers: { ...headers, "MF-Route-Override": "router" }, cf: { country: "DE" },
  });
  await probe.arrayBuffer();
  if (probe.status !== 200 || probe.headers.get("x-myark-cell") !== "eu-central-1") {
    throw new Error(`router probe failed: ${probe.status} ${probe.headers.get("x-myark-cell")}`);
  }
  await driverRound(Math.min(1000, N)); // warm-up, not counted

  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await driverRound(N));
  const total = (w) => rounds.reduce((s, m) => s + m[w], 0) / 1000;
  const router = (N * ROUNDS) / total("router");
  const passthrough = (N * ROUNDS) / total("passthrough");
  const ratio = router / passthrough;
  const pass = ratio >= THRESHOLD;
  console.log(`in workerd: ${N} requests per worker per round, concurrency ${CONCURRENCY}, batches of ${BATCH}, ${ROUNDS} rounds`);
  for (const [i, m] of rounds.entries()) {
    console.log(`  round ${i + 1}: router ${fmt(N / (m.router / 1000))} rps  passthrough ${fmt(N / (m.passthrough / 1000))} rps  ratio ${(m.passthrough / m.router).toFixed(3)}`);
  }
  console.log(`router       ${fmt(router)} rps`);
  console.log(`passthrough  ${fmt(passthrough)} rps`);
  console.log(`ratio router/passthrough ${ratio.toFixed(3)} (threshold ${THRESHOLD}) ${pass ? "PASS" : "FAIL"}`);

  let e2eResult;
  if (E2E) {
    const n = Math.min(N, 2000);
    await e2e("router", 200);
    await e2e("passthrough", 200);
    const a = await e2e("router", n);
    const b = await e2e("passthrough", n);
    e2eResult = { n, router_rps: a, passthrough_rps: b, ratio: a / b };
    console.log(`e2e via dispatchFetch (${n} each, informational): router ${fmt(a)} rps  passthrough ${fmt(b)} rps  ratio ${(a / b).toFixed(3)}`);
  }

  if (JSON_PATH) {
    const pkg = JSON.parse(await readFile(here("../node_modules/miniflare/package.json"), "utf8"));
    const report = {
      n: N, concurrency: CONCURRENCY, batch: BATCH, rounds: ROUNDS,
      router_rps: router, passthrough_rps: passthrough, ratio, threshold: THRESHOLD, pass,
      rounds_ms: rounds, e2e: e2eResult ?? null, node: process.version, miniflare: pkg.version,
    };
    await writeFile(JSON_PATH, JSON.stringify(report, null, 2) + "\n");
  }
  process.exitCode = pass ? 0 : 1;
} finally {
  await mf.dispose();
}
