"""The stack a resource belongs to: its config, the zone a resource must stay in, and the documented
exceptions (resources that may live outside their zone because they hold no user data).

Why the pack reads the stack config itself instead of `cells.core.config.parse_stack`: the pack
judges resources, not config. By the time the engine hands a resource to the pack, the program has
already validated the config (`cells.infra.program.from_runtime` -> `parse_stack`) and refused a bad
one; the pack must not fail a second, different way. It reads only four facts (the cell's name and
region, the domain, the tenants with `dedicatedKmsKey`), from two shapes of config:

- a real `pulumi preview/up --policy-pack policy`: the CLI passes the stack's config in the
  `PULUMI_CONFIG` environment variable (JSON: every value a string, objects as JSON text, secrets in
  clear, no list of secret keys), as it does to the program;
- offline (`check_plan`): the stack file's YAML values (secrets as `[secret]`), or the partial config
  a test passes.

`parse_stack` needs the whole config, the list of secret keys and the fleet's zones, and raises a
`ConfigError`; a lenient reader that never raises fits both shapes. What it derives from the facts
comes from the core: the decoding of runtime values (`cells.core.config.parse.decode_value`, as the program
does), the zone of a region (`cells.core.regions.zone_of_region`, the fleet's `myark:global.zones`),
and the global stack's default region (`GlobalSpec.region`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cells.core.config.global_ import GlobalSpec
from cells.core.config.parse import decode_value as _decode
from cells.core.naming import TAG_RESIDENCY
from cells.core.regions import AWS_GLOBAL_MODULES, CLOUDFRONT_CERT_REGION, zone_of_region
from cells.guardrails.policies.readers import _get, _items, _tag, _type_parts
from cells.guardrails.policies.resource_types import (
    ACM_CERTIFICATE,
    ACM_CERTIFICATE_VALIDATION,
    GCP_GLOBAL_TYPES,
    WAF_CLOUDFRONT_SCOPED,
)

# The residency value of the global stack (identity, billing, routing): not a user-data zone.
GLOBAL_ZONE = "global"
# The control plane's region when `myark:global` names none.
GLOBAL_DEFAULT_REGION: str = GlobalSpec.model_fields["region"].default


@dataclass(frozen=True)
class StackContext:
    """What the stack's config says about the cell (or the global stack) being deployed."""

    cell: str | None = None
    region: str | None = None
    zone: str | None = None
    domain: str | None = None
    cmek_tenants: frozenset[str] = frozenset()  # tenants whose config asks for their own key
    cmek_databases: frozenset[str] = frozenset()  # those tenants' physical shards (Firestore databases)


@lru_cache(maxsize=4)
def _parse_config_env(raw: str) -> dict[str, Any]:
    try:
        values = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def _runtime_stack_config() -> Mapping[str, Any]:
    # The CLI passes the stack's config to a policy pack in PULUMI_CONFIG, as it does to programs.
    return _parse_config_env(os.environ.get("PULUMI_CONFIG", ""))


def stack_config_of(args: Any) -> Mapping[str, Any]:
    """The stack's config: carried by offline args, read from the environment in a real run."""
    own = getattr(args, "stack_config", None)
    return own if own is not None else _runtime_stack_config()


def context_from_config(config: Mapping[str, Any]) -> StackContext:
    domain = _decode(config.get("myark:domain"))
    domain = domain if isinstance(domain, str) else None
    if _decode(config.get("myark:kind")) == "global":
        spec = _decode(config.get("myark:global"))
        region = _get(spec, "region") or GLOBAL_DEFAULT_REGION
        return StackContext(cell=GLOBAL_ZONE, region=region, zone=GLOBAL_ZONE, domain=domain)
    cell = _decode(config.get("myark:cell"))
    if not isinstance(cell, Mapping):
        return StackContext(domain=domain)
    region = cell.get("region")
    zone = zone_of_region(region) if isinstance(region, str) else None
    tenants = _get(cell, "shards", "tenants")
    dedicated = {
        str(name): t
        for name, t in (tenants.items() if isinstance(tenants, Mapping) else [])
        if isinstance(t, Mapping) and t.get("dedicatedKmsKey") is True
    }
    return StackContext(
        cell=cell.get("name"),
        region=region,
        zone=zone,
        domain=domain,
        cmek_tenants=frozenset(dedicated),
        cmek_databases=frozenset(str(t["physical"]) for t in dedicated.values() if t.get("physical")),
    )


def stack_context(args: Any) -> StackContext:
    return context_from_config(stack_config_of(args))


def resource_zone(args: Any) -> str | None:
    """The residency zone a resource must stay in: its own tag first, else its stack's cell."""
    tagged = _tag(args.props, TAG_RESIDENCY)
    if isinstance(tagged, str) and tagged:
        return tagged
    return stack_context(args).zone


def resource_location(args: Any) -> str | None:
    """Where a resource lives: its own region/location input, else its provider's region."""
    pkg, _ = _type_parts(args.resource_type)
    keys = ("region",) if pkg == "aws" else ("location", "locationId", "region")
    for key in keys:
        value = args.props.get(key)
        if isinstance(value, str) and value:
            return value
    provider = getattr(args, "provider", None)
    region = _get(provider.props, "region") if provider is not None else None
    return region if isinstance(region, str) and region else None


def _is_cloudfront_certificate(args: Any, location: str | None) -> bool:
    """The one ACM certificate allowed outside the zone: CloudFront only takes us-east-1 certificates.

    Precisely: an ACM certificate in us-east-1 whose every name (domainName and SANs) is a cell's
    frontend host `<cell>.app.<domain>` (`cells.core.naming.cell_app_host`), with the stack's domain when
    the config names one. It is a public certificate: it holds no user data.
    """
    if args.resource_type != ACM_CERTIFICATE or location != CLOUDFRONT_CERT_REGION:
        return False
    domain = stack_context(args).domain
    host = re.compile(
        r"[a-z0-9]([a-z0-9-]*[a-z0-9])?\.app\." + (re.escape(domain) if domain else r"[a-z0-9.-]+")
    )
    names = [args.props.get("domainName"), *_items(args.props.get("subjectAlternativeNames"))]
    return all(isinstance(n, str) and host.fullmatch(n) for n in names)


def residency_exemption(args: Any, location: str | None) -> str | None:
    """Why a resource may live outside its zone, or None. Each exception holds no user data."""
    pkg, module = _type_parts(args.resource_type)
    if pkg == "cloudflare":
        return "Cloudflare resources run on the global edge and store no user data"
    if pkg == "aws" and module in AWS_GLOBAL_MODULES:
        return f"AWS {module} is a global service (no region)"
    if args.resource_type in WAF_CLOUDFRONT_SCOPED and args.props.get("scope") == "CLOUDFRONT":
        return "a CloudFront-scoped WAF object is global (AWS keeps it in us-east-1) and stores no user data"
    if _is_cloudfront_certificate(args, location):
        return "CloudFront only accepts us-east-1 certificates; a public certificate holds no user data"
    if args.resource_type == ACM_CERTIFICATE_VALIDATION:
        return "a certificate validation creates nothing in AWS; it waits in its certificate's region"
    if args.resource_type in GCP_GLOBAL_TYPES:
        return "GCP workload identity pools, providers and service accounts are global (location 'global')"
    return None
