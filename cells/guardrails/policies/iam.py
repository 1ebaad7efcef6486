"""IAM: no policy grants everything, and no workload holds a long-lived key."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cells.guardrails.policies.readers import _document, _items, _maps, _statements
from cells.guardrails.policies.registry import MANDATORY, resource_policy
from cells.guardrails.policies.resource_types import IAM_ATTACHMENTS, IAM_POLICY_DOCUMENTS, IAM_ROLE

ADMIN_POLICY_ARNS = frozenset({"arn:aws:iam::aws:policy/AdministratorAccess"})


def _admin_statements(document: Any) -> Iterator[Mapping[str, Any]]:
    for st in _statements(_document(document)):
        actions = set(_items(st.get("Action")))
        if st.get("Effect") == "Allow" and actions & {"*", "*:*"} and "*" in _items(st.get("Resource")):
            yield st


@resource_policy(
    "iam-no-admin-wildcards",
    "No IAM policy allows every action on every resource.",
    MANDATORY,
    remediation="grant the actions and resources the workload needs (ApiService.grant); never Action * on Resource *.",
)
def IAM_NO_ADMIN(args: Any) -> Iterator[str]:
    documents: list[tuple[str, Any]] = []
    if args.resource_type in IAM_POLICY_DOCUMENTS:
        documents.append(("policy", args.props.get(IAM_POLICY_DOCUMENTS[args.resource_type])))
    elif args.resource_type == IAM_ROLE:
        documents += [
            (f"inline policy {p.get('name')!r}", p.get("policy"))
            for p in _maps(args.props.get("inlinePolicies"))
        ]
        for arn in _items(args.props.get("managedPolicyArns")):
            if arn in ADMIN_POLICY_ARNS:
                yield f"the role has the managed policy {arn} attached."
    elif args.resource_type in IAM_ATTACHMENTS and args.props.get("policyArn") in ADMIN_POLICY_ARNS:
        yield f"attaches {args.props.get('policyArn')}."
    for where, document in documents:
        for st in _admin_statements(document):
            sid = f" {st.get('Sid')!r}" if st.get("Sid") else ""
            yield f"{where}: statement{sid} allows every action (*) on every resource (*)."


LONG_LIVED_KEYS = {
    "aws:iam/accessKey:AccessKey": "an IAM user access key",
    "gcp:serviceaccount/key:Key": "a GCP service account key",
}


@resource_policy(
    "no-long-lived-keys",
    "No IAM user access keys and no GCP service account keys: workloads authenticate keylessly.",
    MANDATORY,
    remediation="use an IAM role (task role, OIDC) on AWS and workload identity federation on GCP.",
)
def NO_LONG_LIVED_KEYS(args: Any) -> Iterator[str]:
    if args.resource_type in LONG_LIVED_KEYS:
        yield f"{LONG_LIVED_KEYS[args.resource_type]} is a long-lived secret that leaks and never expires."
