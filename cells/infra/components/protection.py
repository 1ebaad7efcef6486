"""What every stateful resource gets: a child of its component, protected and retained by Pulumi.

`kept(self)` is the options of a stateful resource; `protected_log_group` the KMS-encrypted log
group with the cloud's own deletion protection that four components need.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws


def kept(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options of a stateful resource: `parent`'s child, `protect` and `retain_on_delete` in Pulumi."""
    return pulumi.ResourceOptions(parent=parent, protect=True, retain_on_delete=True)


def protected_log_group(
    resource_name: str,
    parent: pulumi.Resource,
    *,
    retention_in_days: pulumi.Input[int],
    kms_key_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions | None = None,
    **extra: Any,
) -> aws.cloudwatch.LogGroup:
    """A CloudWatch log group encrypted with `kms_key_id`, deletion-protected at AWS and in Pulumi.

    `extra` carries what differs (a required name prefix, a region); `opts` replaces `kept(parent)`
    when the caller already holds the same options object.
    """
    return aws.cloudwatch.LogGroup(
        resource_name,
        **extra,
        retention_in_days=retention_in_days,
        kms_key_id=kms_key_id,
        deletion_protection_enabled=True,
        opts=opts or kept(parent),
    )
