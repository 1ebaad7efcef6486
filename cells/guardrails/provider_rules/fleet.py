"""Fleet rules: uniqueness across the plans of every stack (DNS records, failover roles, SCP names,
GCP ids). Each stack's plan alone cannot show these."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from cells.guardrails.provider_rules.registry import Violation, origin_of, rule
from cells.offline.plan import Plan, PlannedResource


def _dns_key(r: PlannedResource) -> tuple | None:
    name = str(r.inputs.get("name", "")).rstrip(".").lower()
    if r.type == "aws:route53/record:Record":
        return ("route53", name, r.inputs.get("type"), r.inputs.get("setIdentifier") or "")
    if r.type == "cloudflare:index/dnsRecord:DnsRecord":
        return ("cloudflare", name, r.inputs.get("type"))
    return None


@rule(
    "dns-record-one-owner",
    "Route 53, Cloudflare DNS",
    "Each DNS record (name, type and set identifier) has one owner in the fleet: Route 53 keeps one "
    "record per name/type/set id (a second owner overwrites it and deleting either deletes it), "
    "Cloudflare refuses an identical record.",
    "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html",
    fleet=True,
)
def _dns_owners(plans: Sequence[Plan]) -> Iterator[Violation]:
    owners: dict[tuple, list[tuple[Plan, PlannedResource]]] = defaultdict(list)
    for plan in plans:
        for r in plan.resources:
            key = _dns_key(r)
            if key:
                owners[key].append((plan, r))
    for key, found in owners.items():
        if len(found) > 1:
            for plan, r in found[1:]:
                yield Violation(
                    "dns-record-one-owner",
                    r.urn,
                    f"{key[2]} {key[1]} also owned by {found[0][0].stack} ({found[0][1].name})",
                    "one owner per record in the fleet (shared names: the global stack)",
                    "ACM validation records follow the certificate's names; others from myark:domain",
                    stack=plan.stack,
                )


@rule(
    "route53-failover-roles",
    "Route 53",
    "A failover record name has at most one PRIMARY and one SECONDARY across the fleet.",
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-failover.html",
    fleet=True,
)
def _failover(plans: Sequence[Plan]) -> Iterator[Violation]:
    roles: dict[tuple, list[tuple[Plan, PlannedResource]]] = defaultdict(list)
    for plan in plans:
        for r in plan.of_type("aws:route53/record:Record"):
            for policy in r.inputs.get("failoverRoutingPolicies") or []:
                roles[(str(r.inputs.get("name")).lower(), policy.get("type"))].append((plan, r))
    for (name, role), found in roles.items():
        for plan, r in found[1:]:
            yield Violation(
                "route53-failover-roles",
                r.urn,
                f"{role} of {name}, also claimed by {found[0][0].stack}",
                "one PRIMARY and one SECONDARY per failover name",
                "myark:cell.defaultForZone (PRIMARY) and myark:cell.failoverForZone (SECONDARY)",
                stack=plan.stack,
            )


@rule(
    "scp-name-unique",
    "AWS Organizations",
    "Service control policy names are unique in the organization (CreatePolicy fails with "
    "DuplicatePolicyException).",
    "https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreatePolicy.html",
    fleet=True,
)
def _scp_names(plans: Sequence[Plan]) -> Iterator[Violation]:
    seen: dict[str, str] = {}
    for plan in plans:
        for r in plan.of_type("aws:organizations/policy:Policy"):
            name = str(r.inputs.get("name"))
            if name in seen:
                yield Violation(
                    "scp-name-unique",
                    r.urn,
                    f"name={name!r}, also created by {seen[name]}",
                    "one policy per name in the organization",
                    "myark:awsScpTarget (only the zone's default cell creates the zone's policy)",
                    stack=plan.stack,
                )
            seen.setdefault(name, plan.stack)


# GCP resources whose id must be unique within a project (and location, where it has one).
GCP_UNIQUE_IDS = {
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": ("workloadIdentityPoolId",),
    "gcp:serviceaccount/account:Account": ("accountId",),
    "gcp:kms/keyRing:KeyRing": ("location", "name"),
    "gcp:firestore/database:Database": ("name",),
    "gcp:bigquery/dataset:Dataset": ("datasetId",),
}


@rule(
    "gcp-id-unique",
    "GCP (IAM, Cloud KMS, Firestore, BigQuery)",
    "Ids of pools, service accounts, key rings (per location), Firestore databases and datasets are "
    "unique within a project across the fleet.",
    "https://cloud.google.com/resource-manager/docs/creating-managing-projects",
    fleet=True,
)
def _gcp_unique(plans: Sequence[Plan]) -> Iterator[Violation]:
    seen: dict[tuple, str] = {}
    for plan in plans:
        for r in plan.resources:
            fields = GCP_UNIQUE_IDS.get(r.type)
            if not fields:
                continue
            key = (r.type, r.inputs.get("project"), *(r.inputs.get(f) for f in fields))
            if key in seen:
                yield Violation(
                    "gcp-id-unique",
                    r.urn,
                    f"{'/'.join(str(k) for k in key[2:])} in project {key[1]}, also owned by {seen[key]}",
                    "one resource per id in a project",
                    origin_of(r, fields[-1], str(key[-1]), plan) + " and myark:cell.gcp.project",
                    stack=plan.stack,
                )
            seen.setdefault(key, f"{plan.stack} ({r.name})")
