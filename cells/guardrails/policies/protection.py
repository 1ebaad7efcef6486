"""Protection: stateful resources are protected in Pulumi and by the cloud's own deletion protection
(and point-in-time recovery); KMS keys wait before deletion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cells.guardrails.policies.readers import _get, _int
from cells.guardrails.policies.registry import ADVISORY, MANDATORY, resource_policy
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
from cells.offline.state_safety import STATEFUL_TYPES

KMS_MIN_DELETION_WINDOW, KMS_PREFERRED_DELETION_WINDOW = 7, 30


@resource_policy(
    "stateful-protect",
    "Stateful resources (cells.offline.state_safety.STATEFUL_TYPES) are protected in Pulumi.",
    MANDATORY,
    remediation="create it with pulumi.ResourceOptions(protect=True, retain_on_delete=True).",
)
def STATEFUL_PROTECT(args: Any) -> Iterator[str]:
    if args.resource_type in STATEFUL_TYPES and not args.opts.protect:
        yield "a stateful resource is not protected: one bad `pulumi up` or `destroy` would delete its data."


@resource_policy(
    "cloud-deletion-protection",
    "Stateful resources turn on the cloud's own deletion protection (and point-in-time recovery).",
    MANDATORY,
    remediation="set the cloud flag: ALB enable_deletion_protection, log group deletion_protection_enabled, DynamoDB "
    "deletion_protection_enabled and point_in_time_recovery, Cognito deletion_protection='ACTIVE', "
    "Firestore delete_protection_state and point_in_time_recovery_enablement, BigQuery tables "
    "deletion_protection, no force_destroy/delete_contents_on_destroy, KMS deletion_window_in_days >= 7.",
)
def CLOUD_DELETION_PROTECTION(args: Any) -> Iterator[str]:
    t, p = args.resource_type, args.props
    if t in LOAD_BALANCERS and p.get("enableDeletionProtection") is not True:
        yield "the load balancer does not set enableDeletionProtection."
    elif t == LOG_GROUP and p.get("deletionProtectionEnabled") is not True:
        yield "the log group does not set deletionProtectionEnabled."
    elif t == DYNAMODB_TABLE:
        if p.get("deletionProtectionEnabled") is not True:
            yield "the DynamoDB table does not set deletionProtectionEnabled."
        if _get(p, "pointInTimeRecovery", "enabled") is not True:
            yield "the DynamoDB table does not enable pointInTimeRecovery."
    elif t == COGNITO_USER_POOL and p.get("deletionProtection") != "ACTIVE":
        yield f"the user pool's deletionProtection is {p.get('deletionProtection')!r}, not 'ACTIVE'."
    elif t == FIRESTORE_DATABASE:
        if p.get("deleteProtectionState") != "DELETE_PROTECTION_ENABLED":
            yield "the Firestore database's deleteProtectionState is not DELETE_PROTECTION_ENABLED."
        if p.get("pointInTimeRecoveryEnablement") != "POINT_IN_TIME_RECOVERY_ENABLED":
            yield "the Firestore database does not set POINT_IN_TIME_RECOVERY_ENABLED."
    elif t == BIGQUERY_TABLE and p.get("deletionProtection") is False:
        # Unset means the provider's default, true.
        yield "the BigQuery table sets deletionProtection false."
    elif t == BIGQUERY_DATASET and p.get("deleteContentsOnDestroy") is True:
        yield "the BigQuery dataset sets deleteContentsOnDestroy: deleting it would drop every table."
    elif t == S3_BUCKET and p.get("forceDestroy") is True:
        yield "the bucket sets forceDestroy: deleting it would first delete every object."
    elif t == KMS_KEY:
        window = _int(p.get("deletionWindowInDays"))
        if window is not None and window < KMS_MIN_DELETION_WINDOW:
            yield f"deletionWindowInDays is {window}; the minimum is {KMS_MIN_DELETION_WINDOW}."


@resource_policy(
    "kms-deletion-window",
    "KMS keys wait the longest window (30 days) before deletion.",
    # Advisory: AWS's 7-day minimum is enforced by cloud-deletion-protection; 30 days is a preference.
    ADVISORY,
    remediation=f"set deletion_window_in_days={KMS_PREFERRED_DELETION_WINDOW}.",
)
def KMS_DELETION_WINDOW(args: Any) -> Iterator[str]:
    window = _int(args.props.get("deletionWindowInDays")) if args.resource_type == KMS_KEY else None
    # Unset means AWS's default, 30 days.
    if window is not None and window < KMS_PREFERRED_DELETION_WINDOW:
        yield f"deletionWindowInDays is {window}; {KMS_PREFERRED_DELETION_WINDOW} days leave the most time."
