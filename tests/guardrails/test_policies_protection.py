"""Protection: Pulumi protect, the cloud's own deletion protection, KMS deletion windows."""

from __future__ import annotations

import pytest
from policy_support import one, run

from cells.guardrails.policies.protection import (
    CLOUD_DELETION_PROTECTION,
    KMS_DELETION_WINDOW,
    STATEFUL_PROTECT,
)
from cells.guardrails.policies.resource_types import (
    BIGQUERY_DATASET,
    BIGQUERY_TABLE,
    COGNITO_USER_POOL,
    DYNAMODB_TABLE,
    FIRESTORE_DATABASE,
    KMS_KEY,
    LOAD_BALANCERS,
    LOG_GROUP,
    S3_BUCKET,
)

# --- deletion protection --------------------------------------------------------------------------


def test_stateful_resources_are_protected() -> None:
    assert run(STATEFUL_PROTECT, S3_BUCKET, {}, protect=True) == []
    assert run(STATEFUL_PROTECT, "aws:ec2/vpc:Vpc", {}) == []
    assert one(STATEFUL_PROTECT, FIRESTORE_DATABASE, {}).startswith("a stateful resource is not protected")


@pytest.mark.parametrize(
    ("type_", "good"),
    [
        pytest.param(LOAD_BALANCERS[0], {"enableDeletionProtection": True}, id="alb"),
        pytest.param(LOG_GROUP, {"deletionProtectionEnabled": True}, id="log-group"),
        pytest.param(
            DYNAMODB_TABLE,
            {"deletionProtectionEnabled": True, "pointInTimeRecovery": {"enabled": True}},
            id="dynamodb",
        ),
        pytest.param(COGNITO_USER_POOL, {"deletionProtection": "ACTIVE"}, id="cognito"),
        pytest.param(
            FIRESTORE_DATABASE,
            {
                "deleteProtectionState": "DELETE_PROTECTION_ENABLED",
                "pointInTimeRecoveryEnablement": "POINT_IN_TIME_RECOVERY_ENABLED",
            },
            id="firestore",
        ),
        pytest.param(BIGQUERY_TABLE, {}, id="bigquery-table-default-is-protected"),
        pytest.param(BIGQUERY_DATASET, {"deleteContentsOnDestroy": False}, id="bigquery-dataset"),
        pytest.param(S3_BUCKET, {"forceDestroy": False}, id="bucket"),
        pytest.param(KMS_KEY, {"deletionWindowInDays": 30}, id="kms"),
    ],
)
def test_cloud_deletion_protection_on_passes(type_: str, good: dict) -> None:
    assert run(CLOUD_DELETION_PROTECTION, type_, good) == []


@pytest.mark.parametrize(
    ("type_", "bad", "text"),
    [
        pytest.param(
            LOAD_BALANCERS[0],
            {"enableDeletionProtection": False},
            "the load balancer does not set",
            id="alb",
        ),
        pytest.param(LOG_GROUP, {}, "the log group does not set deletionProtectionEnabled", id="log-group"),
        pytest.param(
            DYNAMODB_TABLE,
            {"deletionProtectionEnabled": True},
            "does not enable pointInTimeRecovery",
            id="dynamodb-pitr",
        ),
        pytest.param(
            COGNITO_USER_POOL,
            {"deletionProtection": "INACTIVE"},
            "the user pool's deletionProtection is 'INACTIVE'",
            id="cognito",
        ),
        pytest.param(
            FIRESTORE_DATABASE,
            {"pointInTimeRecoveryEnablement": "POINT_IN_TIME_RECOVERY_ENABLED"},
            "the Firestore database's deleteProtectionState",
            id="firestore",
        ),
        pytest.param(
            BIGQUERY_TABLE,
            {"deletionProtection": False},
            "sets deletionProtection false",
            id="bigquery-table",
        ),
        pytest.param(
            BIGQUERY_DATASET,
            {"deleteContentsOnDestroy": True},
            "sets deleteContentsOnDestroy",
            id="bigquery-dataset",
        ),
        pytest.param(S3_BUCKET, {"forceDestroy": True}, "the bucket sets forceDestroy", id="bucket"),
        pytest.param(
            KMS_KEY, {"deletionWindowInDays": 5.0}, "deletionWindowInDays is 5; the minimum is 7", id="kms"
        ),
    ],
)
def test_cloud_deletion_protection_off_is_stopped(type_: str, bad: dict, text: str) -> None:
    assert text in one(CLOUD_DELETION_PROTECTION, type_, bad)


def test_a_short_kms_deletion_window_is_advised_against() -> None:
    assert run(KMS_DELETION_WINDOW, KMS_KEY, {}) == []  # AWS's default is 30 days
    assert run(KMS_DELETION_WINDOW, KMS_KEY, {"deletionWindowInDays": 30.0}) == []
    assert one(KMS_DELETION_WINDOW, KMS_KEY, {"deletionWindowInDays": 7.0}).startswith(
        "deletionWindowInDays is 7; 30 days leave the most time."
    )
