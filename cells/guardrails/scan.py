"""Independent security gates: checkov and parliament over the offline plan.

Neither scanner reads a Pulumi program, but pulumi-aws and pulumi-gcp are bridged from the Terraform
providers, so an offline plan translates mechanically into Terraform's plan JSON (`terraform show
-json`): the type token names the Terraform type, input names are the Terraform names in camelCase,
nested single blocks become one-element lists, and values that are another resource's id or ARN
become references (`configuration.root_module.resources[].expressions`), so that checkov's graph
checks connect a bucket to its policy, encryption and public-access block. Every IAM document in the
plan (trust, inline and key policies, bucket policies, ...) goes to parliament.

The scanners run in their own environment (`.scanners/`, made by `./dev` from
`scanners/requirements.txt`), pinned and offline; the project's lock never sees them. Findings are
gated against `scanners/skips.yaml`: each skip names one check, the resources it covers, and why.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cells.core.config import PROJECT_ROOT
from cells.offline.plan import MyarkMocks

SCANNERS = PROJECT_ROOT / "scanners"
SKIPS_FILE = SCANNERS / "skips.yaml"
SCANNER_ENV = PROJECT_ROOT / ".scanners"
EDGE_MODES = ("route53", "cloudflare")

# Where the Terraform name is not `<provider>_<module>_<name>` (or `aws_<name>` for EC2).
TYPE_EXCEPTIONS = {
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec": "aws_route53_hosted_zone_dnssec",
    "gcp:projects/iAMMember:IAMMember": "google_project_iam_member",
    "gcp:projects/iAMBinding:IAMBinding": "google_project_iam_binding",
    "gcp:projects/service:Service": "google_project_service",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:orgpolicy/policy:Policy": "google_org_policy_policy",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": "google_kms_crypto_key_iam_member",
    "gcp:serviceaccount/iAMMember:IAMMember": "google_service_account_iam_member",
    "gcp:serviceaccount/iAMBinding:IAMBinding": "google_service_account_iam_binding",
}
# Modules whose Terraform types carry no module prefix.
UNPREFIXED_MODULES = {"aws": {"ec2", "index"}, "cloudflare": {"index"}, "gcp": set()}
PROVIDER_PREFIX = {"aws": "aws", "gcp": "google", "cloudflare": "cloudflare"}
# Attributes whose value is a map (keys are data), not a nested block.
MAP_ATTRIBUTES = {
    "tags",
    "tags_all",
    "labels",
    "attribute_mapping",
    "parameters",
    "variables",
    "headers",
    "environment",
}
# Terraform's plan lists an unset nested block as []; checks that index one need it.
EMPTY_BLOCKS = {
    "google_iam_workload_identity_pool_provider": ("oidc", "saml", "x509", "aws"),
}
# Output attributes a reference may point at, in the order Terraform users write them.
REFERENCE_ATTRIBUTES = ("id", "arn", "name", "bucket", "key_id", "email", "zone_id", "dns_name")
# Attributes holding an IAM policy document, by Terraform type, and the document's kind.
IAM_DOCUMENTS = {
    "aws_iam_role": {"assume_role_policy": "trust"},
    "aws_iam_role_policy": {"policy": "identity"},
    "aws_iam_policy": {"policy": "identity"},
    "aws_kms_key": {"policy": "key"},
    "aws_kms_key_policy": {"policy": "key"},
    "aws_s3_bucket_policy": {"policy": "resource"},
    "aws_cloudwatch_event_bus_policy": {"policy": "resource"},
    "aws_cloudwatch_log_resource_policy": {"policy_document": "resource"},
    "aws_sns_topic_policy": {"policy": "resource"},
    "aws_vpc_endpoint": {"policy": "resource"},
    "aws_organizations_policy": {"content": "scp"},
}


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def terraform_type(token: str) -> str | None:
    """`aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock` -> `aws_s3_bucket_public_access_block`."""
    if token in TYPE_EXCEPTIONS:
        return TYPE_EXCEPTIONS[token]
    pkg, _, rest = token.partition(":")
    if pkg not in PROVIDER_PREFIX or ":" not in rest:
        return None
    module = rest.split("/")[0].split(":")[0]
    kind = snake(rest.split("/")[-1].split(":")[0])
    prefix = PROVIDER_PREFIX[pkg]
    if module in UNPREFIXED_MODULES[pkg] or kind.startswith(module.lower() + "_"):
        return f"{prefix}_{kind}"
    return f"{prefix}_{module.lower()}_{kind}"


def singular(name: str) -> str:
    """Pulumi pluralizes repeated blocks (`rules`); Terraform names the block (`rule`)."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith(("sses", "ases", "xes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def terraform_values(value: Any, key: str | None = None) -> Any:
    """Pulumi inputs (camelCase, single blocks as objects) as Terraform values."""
    if isinstance(value, dict):
        if key in MAP_ATTRIBUTES:
            return dict(value)
        return {snake(k): terraform_values(v, snake(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [terraform_values(v, key) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _blocks(values: dict[str, Any]) -> dict[str, Any]:
    """Nested blocks as lists, repeated blocks under their singular Terraform name."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if k in MAP_ATTRIBUTES:
            out[k] = v
        elif isinstance(v, dict):
            out[k] = [_blocks(v)]
        elif isinstance(v, list) and v and all(isinstance(i, dict) for i in v):
            out[singular(k)] = [_blocks(i) for i in v]
        else:
            out[k] = v
    return out


def _address_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    if not re.match(r"[A-Za-z_]", base):
        base = f"r_{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


@dataclass
class Translation:
    stack: str
    edge: str
    plan: dict[str, Any]
    """Terraform plan JSON."""
    addresses: dict[str, str] = field(default_factory=dict)
    """Terraform address -> Pulumi URN."""
    untranslated: list[str] = field(default_factory=list)
    """Pulumi types with no Terraform counterpart (components, providers, unknown packages)."""


def translate(plan: Mapping[str, Any], edge: str = "route53") -> Translation:
    """The offline plan (`./dev plan STACK --json`) as Terraform plan JSON."""
    mocks = MyarkMocks()
    rows: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    names: dict[str, set[str]] = {}
    out = Translation(stack=plan["stack"], edge=edge, plan={})
    # Every output value a reference may point at -> the address that produces it.
    produced: dict[str, str] = {}
    for r in plan["resources"]:
        tf_type = terraform_type(r["type"])
        if tf_type is None:
            out.untranslated.append(r["type"])
            continue
        name = _address_name(r["name"], names.setdefault(tf_type, set()))
        address = f"{tf_type}.{name}"
        out.addresses[address] = r["urn"]
        rid, state = mocks.outputs_for(r["type"], r["name"], r["inputs"], r.get("region"))
        # Only what a resource REGISTERED BEFORE produced can be a reference: the program needs an
        # output object to pass it on. (A literal host name that a later DNS record also carries
        # is not a reference to that record.)
        values_here = {
            attr: rid if attr == "id" else state.get(snake_to_camel(attr)) for attr in REFERENCE_ATTRIBUTES
        }
        rows.append((address, tf_type, r, dict(produced)))
        for attr, value in values_here.items():
            if isinstance(value, str) and len(value) > 8 and value not in produced:
                produced[value] = f"{address}.{attr}"
    planned: list[dict[str, Any]] = []
    config: list[dict[str, Any]] = []
    for address, tf_type, r, earlier in rows:
        values = _blocks(terraform_values(r["inputs"]))
        for block in EMPTY_BLOCKS.get(tf_type, ()):
            values.setdefault(block, [])
        expressions = _expressions(values, earlier, address)
        if r.get("region"):
            values.setdefault("region", r["region"])
        name = address.split(".", 1)[1]
        planned.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": f"registry.terraform.io/hashicorp/{tf_type.split('_')[0]}",
                "values": values,
            }
        )
        config.append(
            {"address": address, "mode": "managed", "type": tf_type, "name": name, "expressions": expressions}
        )
    out.plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": [
            {
                "address": p["address"],
                "mode": "managed",
                "type": p["type"],
                "name": p["name"],
                "change": {"actions": ["create"], "before": None, "after": p["values"]},
            }
            for p in planned
        ],
        "configuration": {"root_module": {"resources": config}},
    }
    return out


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _expressions(values: dict[str, Any], produced: Mapping[str, str], own: str) -> dict[str, Any]:
    """Values that are another resource's output, as Terraform's configuration `references`.

    A reference is unknown at plan time, so Terraform leaves it out of the planned values (a list
    keeps a null in its place). Nested blocks carry their own expressions, as in `terraform show`.
    """
    expressions: dict[str, Any] = {}
    for key, value in list(values.items()):
        if key in MAP_ATTRIBUTES:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            nested = [_expressions(v, produced, own) for v in value]
            if any(nested):
                expressions[key] = nested
            continue
        refs = _references(value, produced, own)
        if not refs:
            continue
        expressions[key] = {"references": refs}
        if isinstance(value, list):
            values[key] = [None if isinstance(v, str) and v in produced else v for v in value]
        else:
            del values[key]
    return expressions


def _references(value: Any, produced: Mapping[str, str], own: str) -> list[str]:
    found: list[str] = []
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, str) and v in produced and not produced[v].startswith(own + "."):
            ref = produced[v]
            found += [ref, ref.rsplit(".", 1)[0]]
    return found


# --- IAM documents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IamDocument:
    address: str
    attribute: str
    kind: str
    """trust, identity, resource, key or scp: parliament reads each a little differently."""
    document: str


def iam_documents(translation: Translation) -> Iterator[IamDocument]:
    for r in translation.plan["planned_values"]["root_module"]["resources"]:
        for attr, kind in IAM_DOCUMENTS.get(r["type"], {}).items():
            doc = r["values"].get(attr)
            if isinstance(doc, str) and doc.strip():
                yield IamDocument(r["address"], attr, kind, doc)


# --- the skip list and the verdict ----------------------------------------------------------------


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
        hit = next((i for i, s in enumerate(skips) if s.covers(finding.check, finding.address)), None)
        if hit is None:
            report.failed.append(finding)
        else:
            report.skipped.append(finding)
            if used is not None:
                used.add(hit)
    return report


# --- running the tools ----------------------------------------------------------------------------


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


@dataclass
class ScanResult:
    reports: list[StackReport]
    unused_skips: list[Skip]
    seconds: dict[str, float]

    @property
    def ok(self) -> bool:
        return not any(r.failed or r.parliament for r in self.reports) and not self.unused_skips


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
        report.documents = len(ds)
        for d in ds:
            seen: set[str] = set()
            for f in findings[i]:
                if f["issue"] in seen:  # parliament repeats an issue once per expanded action
                    continue
                seen.add(f["issue"])
                finding = Finding(
                    "parliament", f"parliament:{f['issue']}", f"{d.address}.{d.attribute}", f["detail"]
                )
                hit = next((n for n, s in enumerate(skips) if s.covers(finding.check, finding.address)), None)
                if hit is None:
                    report.parliament.append(finding)
                else:
                    report.parliament_skipped.append(finding)
                    used.add(hit)
            i += 1
    unused = [s for n, s in enumerate(skips) if n not in used]
    return ScanResult(reports, unused, seconds)


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
