// The benchmark's command line: a bad argument gets one line naming it and what is valid, exit 2,
// and nothing runs (no workerd, no keys, no output on stdout).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BENCH = fileURLToPath(new URL("../bench/bench.mjs", import.meta.url));

const CASES = [
  [["--batch", "0"], /--batch must be a whole number >= 1, not "0"/],
  [["--rounds", "x"], /--rounds must be a whole number >= 1, not "x"/],
  [["--n", "2.5"], /--n must be a whole number >= 1/],
  [["--cold", "3"], /--cold must be a whole number >= 8/],
  [["--zipf", "0"], /--zipf must be a number above 0 and at most 10/],
  [["--mix-hits", "2"], /--mix-hits must be a share of cached tokens above 0 and at most 1/],
  [["--instr-n", "-1"], /--instr-n must be a whole number >= 1/],
  [["--concurrency"], /--concurrency needs a value/],
  [["--rounds", "--e2e"], /--rounds needs a value/],
  [["--fast"], /unknown argument "--fast"; valid: --n VALUE, .*--instructions/],
  [["5"], /unknown argument "5"/],
];

for (const [args, message] of CASES) {
  test(`bench ${args.join(" ")}: one line, exit 2, nothing run`, () => {
    const r = spawnSync(process.execPath, [BENCH, ...args], { encoding: "utf8", timeout: 30000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^bench: /);
    assert.match(lines[0], message);
  });
}
