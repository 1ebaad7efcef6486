"""IAM: no admin wildcards, no long-lived keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_support import one, run

from cells.guardrails.policies.iam import IAM_NO_ADMIN, NO_LONG_LIVED_KEYS

# --- IAM ------------------------------------------------------------------------------------------


def _doc(action: Any, resource: Any = "*", effect: str = "Allow") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]}
    )


def test_least_privilege_policies_pass() -> None:
    assert run(IAM_NO_ADMIN, "aws:iam/rolePolicy:RolePolicy", {"policy": _doc(["s3:GetObject"])}) == []
    assert run(IAM_NO_ADMIN, "aws:iam/rolePolicy:RolePolicy", {"policy": _doc("*", "arn:aws:s3:::b")}) == []
    assert run(IAM_NO_ADMIN, "aws:iam/rolePolicy:RolePolicy", {"policy": _doc("*", effect="Deny")}) == []


@pytest.mark.parametrize(
    ("type_", "props", "text"),
    [
        pytest.param(
            "aws:iam/rolePolicy:RolePolicy",
            {"policy": _doc("*")},
            "policy: statement allows every",
            id="role-policy",
        ),
        pytest.param(
            "aws:iam/policy:Policy",
            {"policy": _doc(["s3:GetObject", "*:*"], ["*"])},
            "policy: statement allows every",
            id="managed-policy",
        ),
        pytest.param(
            "aws:iam/role:Role",
            {"inlinePolicies": [{"name": "admin", "policy": _doc("*")}]},
            "inline policy 'admin': statement allows every",
            id="role-inline-policy",
        ),
        pytest.param(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            "attaches arn:aws:iam::aws:policy/AdministratorAccess",
            id="administrator-access",
        ),
    ],
)
def test_admin_wildcards_are_stopped(type_: str, props: dict, text: str) -> None:
    assert one(IAM_NO_ADMIN, type_, props).startswith(text)


def test_long_lived_keys_are_stopped() -> None:
    assert one(NO_LONG_LIVED_KEYS, "aws:iam/accessKey:AccessKey", {"user": "ci"}).startswith(
        "an IAM user access key is a long-lived secret"
    )
    assert one(NO_LONG_LIVED_KEYS, "gcp:serviceaccount/key:Key", {"serviceAccountId": "sa"}).startswith(
        "a GCP service account key is a long-lived secret"
    )
    assert run(NO_LONG_LIVED_KEYS, "gcp:serviceaccount/account:Account", {"accountId": "api"}) == []
