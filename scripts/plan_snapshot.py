"""Every stack's offline plan, both edge modes, against a saved copy: the proof a re-layout changed nothing.

    scripts/plan_snapshot.py            compare (the default; `./dev test` runs it)
    scripts/plan_snapshot.py --update   record the current plans into state/plan-snapshots/

It drives the command line (`python -m cells plan STACK --json PATH`) as a user would and imports
nothing from the project, so it keeps its meaning however the code is laid out. The Cloudflare edge
mode plans a copy of the stack files with the edge switched to Cloudflare (placeholder ids).

A difference is reported as the URNs added and removed, then the first resource whose JSON differs.
A deliberate change of a plan is recorded with --update and reviewed in the commit's diff.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "state" / "plan-snapshots"
EDGES = ("route53", "cloudflare")


def stacks(root: Path = ROOT) -> list[str]:
    return sorted(f.name[len("Pulumi.") : -len(".yaml")] for f in root.glob("Pulumi.*.yaml"))


def cloudflare_copy(root: Path, into: Path) -> Path:
    """The fleet's stack files with the edge switched to Cloudflare (placeholder ids and secrets)."""
    for f in root.glob("Pulumi*.yaml"):
        doc = yaml.safe_load(f.read_text())
        config = doc.get("config") or {}
        if f.name != "Pulumi.yaml" and "myark:edge" in config:
            config["myark:edge"] = {
                "provider": "cloudflare",
                "cloudflareAccountId": "a" * 32,
                "cloudflareZoneId": "b" * 32,
            }
            config["myark:cloudflareApiToken"] = {"secure": "v1:ciphertext"}
            if config.get("myark:kind") == "cell":
                config["myark:originSecret"] = {"secure": "v1:ciphertext"}
        (into / f.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return into


def plan_json(stack: str, edge: str, fleet: Path, out: Path) -> tuple[str, str]:
    """Run the CLI's plan; return (summary line, error or '')."""
    cmd = [sys.executable, "-m", "cells", "plan", stack, "--quiet", "--json", str(out)]
    if edge != "route53":
        cmd += ["--root", str(fleet)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    summary = proc.stdout.splitlines()[0] if proc.stdout else ""
    if proc.returncode != 0 or not out.exists():
        return summary, f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-1500:]}"
    return summary, ""


def explain(saved: bytes, now: bytes) -> str:
    """What differs between two plan JSON files: URNs first, then the first differing resource."""
    try:
        a, b = json.loads(saved), json.loads(now)
    except ValueError:
        return "  (not JSON)"
    ra = {r["urn"]: r for r in a.get("resources", [])}
    rb = {r["urn"]: r for r in b.get("resources", [])}
    lines = [f"  - removed {u}" for u in sorted(ra.keys() - rb.keys())]
    lines += [f"  + added   {u}" for u in sorted(rb.keys() - ra.keys())]
    changed = [u for u in sorted(ra.keys() & rb.keys()) if ra[u] != rb[u]]
    if changed:
        lines.append(f"  ~ {len(changed)} resource(s) differ, first: {changed[0]}")
        for key in ra[changed[0]]:
            if ra[changed[0]][key] != rb[changed[0]].get(key):
                lines.append(f"      {key}: {json.dumps(ra[changed[0]][key])[:300]}")
                lines.append(f"   -> {key}: {json.dumps(rb[changed[0]].get(key))[:300]}")
    for key in ("project", "stack", "outputs", "violations"):
        if a.get(key) != b.get(key):
            lines.append(f"  ~ {key} differs")
    if not lines:
        lines.append("  same data, different bytes (formatting or order)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--update", action="store_true", help="record the current plans as the saved copy")
    parser.add_argument("--check", action="store_true", help="compare with the saved copy (the default)")
    args = parser.parse_args(argv)
    names = stacks()
    with tempfile.TemporaryDirectory(prefix="plan-snapshot-") as tmp:
        work = Path(tmp)
        fleet = cloudflare_copy(ROOT, Path(tempfile.mkdtemp(dir=work)))
        jobs = [(s, e) for e in EDGES for s in names]
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(
                pool.map(lambda j: plan_json(j[0], j[1], fleet, work / f"{j[0]}.{j[1]}.json"), jobs)
            )
        failed = 0
        if args.update:
            SNAPSHOTS.mkdir(parents=True, exist_ok=True)
            for old in SNAPSHOTS.glob("*.json"):
                old.unlink()
        for (stack, edge), (summary, error) in zip(jobs, results, strict=True):
            label = f"{stack}/{edge}"
            if error:
                print(f"{label}: plan failed: {error}")
                failed += 1
                continue
            now = (work / f"{stack}.{edge}.json").read_bytes()
            saved_path = SNAPSHOTS / f"{stack}.{edge}.json"
            if args.update:
                saved_path.write_bytes(now)
                print(f"{label}: recorded ({summary})")
            elif not saved_path.exists():
                print(f"{label}: no saved plan at {saved_path.relative_to(ROOT)} (record with --update)")
                failed += 1
            elif saved_path.read_bytes() != now:
                print(
                    f"{label}: DIFFERS from {saved_path.relative_to(ROOT)}\n{explain(saved_path.read_bytes(), now)}"
                )
                failed += 1
            else:
                print(f"{label}: identical ({summary})")
        if not args.update:
            extra = {p.name for p in SNAPSHOTS.glob("*.json")} - {f"{s}.{e}.json" for s, e in jobs}
            for name in sorted(extra):
                print(f"{name}: saved plan of a stack that no longer exists")
                failed += 1
    if failed:
        print(
            f"{failed} plan(s) differ or failed; a deliberate change is recorded with scripts/plan_snapshot.py --update"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
