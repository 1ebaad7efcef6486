"""Residency guardrails at the clouds: the cell project's location constraint, and its zone's SCP."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from cells.core.residency_controls import aws_service_control_policy, gcp_allowed_locations


@dataclass(frozen=True)
class GuardrailsArgs:
    zone: str
    gcp_project: str | None
    scp_target: str | None


class ResidencyGuardrails(pulumi.ComponentResource):
    def __init__(self, name: str, args: GuardrailsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:security:ResidencyGuardrails", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.gcp_project:
            gcp.orgpolicy.Policy(
                f"{name}-gcp-locations",
                name=f"projects/{args.gcp_project}/policies/gcp.resourceLocations",
                parent=f"projects/{args.gcp_project}",
                spec={"rules": [{"values": {"allowed_values": gcp_allowed_locations(args.zone)}}]},
                opts=child,
            )
        self.scp = json.dumps(aws_service_control_policy(args.zone), sort_keys=True)
        if args.scp_target:
            policy = aws.organizations.Policy(
                f"{name}-scp",
                name=f"myark-residency-{args.zone}",
                description=f"Deny AWS regions outside residency zone {args.zone} (global services excepted)",
                type="SERVICE_CONTROL_POLICY",
                content=self.scp,
                opts=child,
            )
            aws.organizations.PolicyAttachment(
                f"{name}-scp-attachment", policy_id=policy.id, target_id=args.scp_target, opts=child
            )
        self.register_outputs({"serviceControlPolicy": self.scp})
