"""The offline plan as Terraform plan JSON (`terraform show -json`), and the IAM documents in it.

pulumi-aws and pulumi-gcp are bridged from the Terraform providers: the type token names the
Terraform type, input names are the Terraform names in camelCase, nested single blocks become
one-element lists, and values that are another resource's id or ARN become references
(`configuration.root_module.resources[].expressions`), so that checkov's graph checks connect a
bucket to its policy, encryption and public-access block.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cells.offline.mocks import MyarkMocks

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
