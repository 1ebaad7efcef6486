"""What both edge backends offer the rest of the program: DNS records and certificate validation."""

from __future__ import annotations

from typing import Protocol

import pulumi
import pulumi_aws as aws


class EdgeDns(Protocol):
    def validate(
        self, name: str, cert: aws.acm.Certificate, names: int, region: str | None = None
    ) -> aws.acm.CertificateValidation:
        """DNS records proving we own the `names` names of `cert`, and the wait for its issue."""
        ...

    def point(
        self, name: str, host: str, target: pulumi.Input[str], target_zone_id: pulumi.Input[str]
    ) -> None:
        """`host` answers with `target` (an AWS load balancer or CloudFront name)."""
        ...
