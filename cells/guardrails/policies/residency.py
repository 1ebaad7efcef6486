"""Residency: a cell's resources, and the copies they make, stay in the cell's residency zone.

The zone of a resource and the documented exceptions live in `cells.guardrails.policies.context`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cells.core.naming import TAG_RESIDENCY
from cells.core.regions import ZONES, location_in_zone
from cells.guardrails.policies.context import (
    GLOBAL_ZONE,
    residency_exemption,
    resource_location,
    resource_zone,
    stack_context,
)
from cells.guardrails.policies.readers import _arn_region, _get, _maps, _tag, _type_parts
from cells.guardrails.policies.registry import MANDATORY, resource_policy, stack_policy
from cells.guardrails.policies.resource_types import (
    BACKUP_PLAN,
    DYNAMODB_TABLE,
    ECR_REPLICATION,
    LOG_SUBSCRIPTION,
    S3_BUCKET,
    S3_REPLICATION,
)


def _zone_regions(zone: str) -> str:
    z = ZONES[zone]
    return ", ".join((*z.aws_regions, *(g for g in z.gcp_locations if g.islower())))


@resource_policy(
    "residency-zone",
    "A cell's resources live in its residency zone (documented global exceptions only).",
    MANDATORY,
    remediation="create the resource in a region of the cell's zone (`myark:global.zones` in Pulumi.global.yaml), i.e. drop the foreign "
    "`region`/`location`; if it is truly global and holds no user data, add a documented exception "
    "to `residency_exemption` in cells/guardrails/policies/context.py.",
)
def RESIDENCY(args: Any) -> Iterator[str]:
    if _type_parts(args.resource_type)[0] == "pulumi":
        return  # providers and stack references hold no data
    zone = resource_zone(args)
    if zone is None or zone == GLOBAL_ZONE:
        return  # the global stack holds no user data of a zone; the other rules still apply to it
    if zone not in ZONES:
        yield f"residency tag {TAG_RESIDENCY}={zone!r} names no known zone (zones: {', '.join(ZONES)})."
        return
    location = resource_location(args)
    if location is None or residency_exemption(args, location):
        return
    if not location_in_zone(location, zone):
        yield (
            f"{args.resource_type} is in {location}, outside residency zone {zone!r} ({_zone_regions(zone)})."
        )


def _copies(args: Any) -> Iterator[tuple[str, str | None]]:
    """(what, region) for every place this resource copies data to."""
    t, p = args.resource_type, args.props
    if t == BACKUP_PLAN:
        for rule in _maps(p.get("rules")):
            for copy in _maps(rule.get("copyActions")):
                vault = copy.get("destinationVaultArn")
                yield f"backup copy to {vault}", _arn_region(vault)
    elif t == DYNAMODB_TABLE:
        for replica in _maps(p.get("replicas")):
            yield "global table replica", replica.get("regionName")
    elif t == LOG_SUBSCRIPTION:
        yield f"log subscription to {p.get('destinationArn')}", _arn_region(p.get("destinationArn"))
    elif t == ECR_REPLICATION:
        for rule in _maps(_get(p, "replicationConfiguration", "rules")):
            for dest in _maps(rule.get("destinations")):
                yield "image replication", dest.get("region")
    elif t == S3_BUCKET and p.get("replicationConfiguration") is not None:
        # S3 ARNs carry no region: inline replication cannot be verified from the resource alone.
        yield "inline bucket replication (unverifiable: S3 ARNs carry no region)", None


@resource_policy(
    "no-cross-zone-copies",
    "No backup copy, table replica, log subscription or image replication leaves the residency zone.",
    MANDATORY,
    remediation="keep the copy in the cell's zone: point it at a backup vault, region or destination of that zone.",
)
def NO_CROSS_ZONE_COPIES(args: Any) -> Iterator[str]:
    zone = resource_zone(args)
    if zone is None or zone == GLOBAL_ZONE or zone not in ZONES:
        return
    for what, region in _copies(args):
        if region is None or not location_in_zone(region, zone):
            yield f"{what} goes to {region or 'an unknown region'}, outside residency zone {zone!r}."


@stack_policy(
    "s3-replication-in-zone",
    "S3 replication targets only buckets of the same stack in the same residency zone.",
    MANDATORY,
    remediation="replicate to a bucket this stack creates in a region of the cell's zone, or do not replicate.",
)
def S3_REPLICATION_IN_ZONE(args: Any) -> Iterator[tuple[str | None, str]]:
    """Replication goes only to a bucket of this stack that lives in the same zone.

    An S3 ARN carries no region, so a destination this stack does not manage cannot be verified:
    that is a violation too.
    """
    zone = stack_context(args).zone
    if zone is None or zone == GLOBAL_ZONE or zone not in ZONES:
        return
    by_arn = {r.props.get("arn"): r for r in args.resources if r.resource_type == S3_BUCKET}
    for config in (r for r in args.resources if r.resource_type == S3_REPLICATION):
        for rule in _maps(config.props.get("rules")):
            arn = _get(rule, "destination", "bucket")
            target = by_arn.get(arn)
            if target is None:
                yield (
                    config.urn,
                    f"replicates to {arn}, a bucket this stack does not manage: its zone is unverifiable.",
                )
                continue
            target_zone = _tag(target.props, TAG_RESIDENCY) or zone
            where = resource_location(target)
            if target_zone != zone or where is None or not location_in_zone(where, zone):
                yield (
                    config.urn,
                    (
                        f"replicates to {arn} in {where} (residency {target_zone!r}), "
                        f"outside residency zone {zone!r}."
                    ),
                )
