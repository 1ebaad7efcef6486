"""State safety: the URNs of every stateful resource, held against a committed list.

A refactor that renames or re-parents a bucket, key, database or log group changes its URN, and
Pulumi then deletes the old one and creates a new, empty one. The committed list
(`state/stateful-urns.json`) makes that a failing test instead of a lost dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cells.core.config.stack_files import PROJECT_ROOT
from cells.offline.plan import Plan

STATEFUL_TYPES = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:dynamodb/table:Table",
        "aws:cloudwatch/eventArchive:EventArchive",
        "aws:cognito/userPool:UserPool",
        "gcp:firestore/database:Database",
        "gcp:bigquery/dataset:Dataset",
        "gcp:bigquery/table:Table",
        "gcp:kms/keyRing:KeyRing",
        "gcp:kms/cryptoKey:CryptoKey",
        "aws:route53/zone:Zone",
        "cloudflare:index/workersKvNamespace:WorkersKvNamespace",
        # Identities others hold by id: a replaced one breaks every holder (apps, GCP grants), and a
        # deleted pool or provider id stays reserved for 30 days.
        "aws:cognito/userPoolClient:UserPoolClient",
        "aws:cloudwatch/eventBus:EventBus",
        "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
        "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
        "gcp:serviceaccount/account:Account",
    }
)
STATE_FILE = PROJECT_ROOT / "state" / "stateful-urns.json"


@dataclass(frozen=True)
class StateDrift:
    stack: str
    missing: list[str]  # committed URNs the plan no longer has (and no alias covers)
    new: list[str]  # stateful URNs the plan has that the list does not

    @property
    def ok(self) -> bool:
        return not self.missing and not self.new

    def message(self) -> str:
        lines = []
        for urn in self.missing:
            lines.append(
                f"{self.stack}: stateful resource {urn} is gone from the plan: `pulumi up` would delete it and "
                "its data. If it was renamed or moved, add `aliases=[pulumi.Alias(name=<old name>, "
                "parent=<old parent>)]` to the resource at its new place; if deleting it is intended, run "
                "`./dev state accept` and say so in the pull request."
            )
        for urn in self.new:
            lines.append(
                f"{self.stack}: new stateful resource {urn} is not in {STATE_FILE.relative_to(PROJECT_ROOT)}; "
                "run `./dev state accept` to record it."
            )
        return "\n".join(lines)


def stateful_urns(plan: Plan) -> list[str]:
    return sorted(r.urn for r in plan.resources if r.type in STATEFUL_TYPES)


def read_committed(path: Path = STATE_FILE) -> dict[str, list[str]]:
    return json.loads(path.read_text()) if path.is_file() else {}


def compare(plan: Plan, committed: dict[str, list[str]]) -> StateDrift:
    current = set(stateful_urns(plan))
    aliased = {alias for r in plan.resources if r.type in STATEFUL_TYPES for alias in r.aliases}
    known = set(committed.get(plan.stack, []))
    return StateDrift(
        stack=plan.stack,
        missing=sorted(u for u in known if u not in current and u not in aliased),
        new=sorted(u for u in current if u not in known),
    )


def accept(plans: list[Plan], path: Path = STATE_FILE) -> None:
    data = read_committed(path)
    for plan in plans:
        data[plan.stack] = stateful_urns(plan)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")
