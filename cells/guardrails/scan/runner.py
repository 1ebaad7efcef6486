"""Running the scanners: their own environment (`.scanners/`), checkov over Terraform plan files,
parliament over IAM documents, the offline plans of each edge mode, and `scan`, which gates the
findings (`verdict`)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from cells.core.config.stack_files import PROJECT_ROOT
from cells.guardrails.scan.terraform import IamDocument, iam_documents, translate
from cells.guardrails.scan.verdict import ScanResult, judge_checkov, judge_parliament, load_skips

SCANNERS = PROJECT_ROOT / "scanners"
SCANNER_ENV = PROJECT_ROOT / ".scanners"
EDGE_MODES = ("route53", "cloudflare")


def scanner_python() -> Path:
    python = SCANNER_ENV / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(
            f"{SCANNER_ENV} is missing: run ./dev scan (it installs scanners/requirements.txt there)"
        )
    return python


def run_checkov(files: list[Path]) -> list[dict[str, Any]]:
    """checkov over Terraform plan files, offline; one report per file, in order."""
    cmd = [
        str(SCANNER_ENV / "bin" / "checkov"),
        "--framework",
        "terraform_plan",
        "--skip-download",
        "--compact",
        "--output",
        "json",
        "--repo-root-for-plan-enrichment",
        str(PROJECT_ROOT),
    ]
    for f in files:
        cmd += ["-f", str(f)]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "BC_SKIP_MAPPING": "TRUE",
        "CKV_NO_NETWORK": "1",
    }
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    data = json.loads(proc.stdout)
    reports = data if isinstance(data, list) else [data]
    by_file: dict[str, dict[str, Any]] = {}
    for rep in reports:
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for item in rep.get("results", {}).get(kind, []):
                by_file.setdefault(Path(item["file_path"]).name, {}).setdefault(kind, []).append(item)
    return [by_file.get(f.name, {}) for f in files]


def run_parliament(documents: list[IamDocument]) -> list[list[dict[str, Any]]]:
    payload = [{"kind": d.kind, "document": d.document} for d in documents]
    proc = subprocess.run(
        [str(scanner_python()), str(SCANNERS / "parliament_check.py")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"parliament failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


CLOUDFLARE_EDGE = {"provider": "cloudflare", "cloudflareAccountId": "a" * 32, "cloudflareZoneId": "b" * 32}


def switch_to_cloudflare(config: dict[str, Any], rotating: bool = False) -> None:
    """Switch one stack's config (the `config:` mapping of its file) to the Cloudflare edge, with
    placeholder ids and secrets; `rotating` also sets a cell's previous origin secret."""
    config["myark:edge"] = dict(CLOUDFLARE_EDGE)
    config["myark:cloudflareApiToken"] = {"secure": "v1:ciphertext"}
    if config.get("myark:kind") == "cell":
        config["myark:originSecret"] = {"secure": "v1:ciphertext"}
        if rotating:
            config["myark:originSecretPrevious"] = {"secure": "v1:ciphertext"}


def cloudflare_fleet(root: Path, into: Path) -> Path:
    """A copy of the fleet's stack files with the edge switched to Cloudflare (placeholder ids)."""
    for f in root.glob("Pulumi*.yaml"):
        doc = yaml.safe_load(f.read_text())
        if f.name != "Pulumi.yaml" and "myark:edge" in (doc.get("config") or {}):
            switch_to_cloudflare(doc["config"])
        (into / f.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return into


def plans_for(
    stacks: Iterable[str], edges: Iterable[str], root: Path = PROJECT_ROOT
) -> Iterator[tuple[str, dict]]:
    from cells.offline.plan import record_plan

    for edge in edges:
        with tempfile.TemporaryDirectory(prefix=f"scan-{edge}-") as tmp:
            fleet = root if edge == "route53" else cloudflare_fleet(root, Path(tmp))
            for stack in stacks:
                yield edge, record_plan(stack, root=fleet).to_json()


def scan(stacks: list[str], edges: Iterable[str], workdir: Path) -> ScanResult:
    skips = load_skips()
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    translations = [translate(p, edge) for edge, p in plans_for(stacks, edges)]
    seconds["plan+translate"] = time.perf_counter() - t
    files = []
    for tr in translations:
        f = workdir / f"{tr.stack}.{tr.edge}.tfplan.json"
        f.write_text(json.dumps(tr.plan, indent=1))
        files.append(f)
    t = time.perf_counter()
    results = run_checkov(files)
    seconds["checkov"] = time.perf_counter() - t
    used: set[int] = set()
    reports = [
        judge_checkov(tr.stack, tr.edge, res, skips, used)
        for tr, res in zip(translations, results, strict=True)
    ]
    t = time.perf_counter()
    docs = [list(iam_documents(tr)) for tr in translations]
    flat = [d for ds in docs for d in ds]
    findings = run_parliament(flat) if flat else []
    seconds["parliament"] = time.perf_counter() - t
    i = 0
    for report, ds in zip(reports, docs, strict=True):
        judge_parliament(report, ds, findings[i : i + len(ds)], skips, used)
        i += len(ds)
    unused = [s for n, s in enumerate(skips) if n not in used]
    return ScanResult(reports, unused, seconds)
