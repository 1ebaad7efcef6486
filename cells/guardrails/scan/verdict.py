"""The gate: the skip list (`scanners/skips.yaml`), the scanners' findings judged against it, and the
report `./dev scan` prints."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cells.core.config.stack_files import PROJECT_ROOT
from cells.guardrails.scan.terraform import IamDocument

SKIPS_FILE = PROJECT_ROOT / "scanners" / "skips.yaml"


@dataclass(frozen=True)
class Skip:
    check: str
    resources: tuple[str, ...]
    """Terraform address patterns (fnmatch), e.g. `aws_s3_bucket.*-logs`."""
    reason: str

    def covers(self, check: str, address: str) -> bool:
        return check == self.check and any(fnmatch.fnmatchcase(address, p) for p in self.resources)


class SkipListError(Exception):
    pass


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    raw = yaml.safe_load(path.read_text()) or []
    skips: list[Skip] = []
    for i, entry in enumerate(raw):
        where = f"{path.name}: entry {i + 1}"
        if not isinstance(entry, dict) or set(entry) != {"check", "resources", "reason"}:
            raise SkipListError(f"{where}: needs exactly check, resources and reason")
        reason = str(entry["reason"]).strip()
        if len(reason) < 40:
            raise SkipListError(f"{where} ({entry['check']}): the reason must say why (40+ characters)")
        resources = entry["resources"]
        if not isinstance(resources, list) or not resources or "*" in resources:
            raise SkipListError(f"{where} ({entry['check']}): resources must list address patterns, not '*'")
        skips.append(Skip(str(entry["check"]), tuple(str(p) for p in resources), reason))
    return skips


def covering(skips: Sequence[Skip], check: str, address: str) -> int | None:
    """The index of the first skip that covers this check on this address, or None."""
    return next((i for i, s in enumerate(skips) if s.covers(check, address)), None)


@dataclass(frozen=True)
class Finding:
    tool: str
    check: str
    address: str
    title: str


@dataclass
class StackReport:
    stack: str
    edge: str
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    parliament: list[Finding] = field(default_factory=list)
    parliament_skipped: list[Finding] = field(default_factory=list)
    documents: int = 0


def judge_checkov(
    stack: str, edge: str, results: Mapping[str, Any], skips: list[Skip], used: set[int] | None = None
) -> StackReport:
    """Split checkov's failures into skipped (by the list) and failed; count passes."""
    report = StackReport(stack, edge)
    report.passed = len(results.get("passed_checks", []))
    for fail in results.get("failed_checks", []):
        finding = Finding("checkov", fail["check_id"], fail["resource"], fail.get("check_name", ""))
        hit = covering(skips, finding.check, finding.address)
        if hit is None:
            report.failed.append(finding)
        else:
            report.skipped.append(finding)
            if used is not None:
                used.add(hit)
    return report


def judge_parliament(
    report: StackReport,
    documents: Sequence[IamDocument],
    findings: Sequence[list[dict[str, Any]]],
    skips: list[Skip],
    used: set[int],
) -> None:
    """Split parliament's findings on a stack's IAM documents (one list per document, in order) into
    skipped (by the list) and reported."""
    report.documents = len(documents)
    for d, found in zip(documents, findings, strict=True):
        seen: set[str] = set()
        for f in found:
            if f["issue"] in seen:  # parliament repeats an issue once per expanded action
                continue
            seen.add(f["issue"])
            finding = Finding(
                "parliament", f"parliament:{f['issue']}", f"{d.address}.{d.attribute}", f["detail"]
            )
            hit = covering(skips, finding.check, finding.address)
            if hit is None:
                report.parliament.append(finding)
            else:
                report.parliament_skipped.append(finding)
                used.add(hit)


@dataclass
class ScanResult:
    reports: list[StackReport]
    unused_skips: list[Skip]
    seconds: dict[str, float]

    @property
    def ok(self) -> bool:
        return not any(r.failed or r.parliament for r in self.reports) and not self.unused_skips


def render(result: ScanResult) -> str:
    lines = [
        f"{'':<27}{'checkov':<24}parliament",
        f"{'STACK':<14} {'EDGE':<11} {'PASSED':>6} {'FAILED':>6} {'SKIPPED':>7}  {'DOCS':>4} {'FINDINGS':>8} {'SKIPPED':>7}",
    ]
    for r in result.reports:
        lines.append(
            f"{r.stack:<14} {r.edge:<11} {r.passed:>6} {len(r.failed):>6} {len(r.skipped):>7}  "
            f"{r.documents:>4} {len(r.parliament):>8} {len(r.parliament_skipped):>7}"
        )
    for r in result.reports:
        for f in r.failed:
            lines.append(f"FAILED {r.stack}/{r.edge}: {f.check} {f.address}: {f.title}")
        for f in r.parliament:
            lines.append(f"PARLIAMENT {r.stack}/{r.edge}: {f.check} {f.address}: {f.title}")
    for s in result.unused_skips:
        lines.append(
            f"UNUSED SKIP {s.check} {list(s.resources)}: matches no failure; remove it from {SKIPS_FILE.name}"
        )
    lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    lines.append("scan: clean" if result.ok else "scan: FAILED")
    return "\n".join(lines)
