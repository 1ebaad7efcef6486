"""What both edge backends offer the rest of the program: DNS records and certificate validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws


class EdgeDns(Protocol):
    def validate(
        self,
        name: str,
        cert: aws.acm.Certificate,
        hosts: Sequence[str],
        region: str | None = None,
        shared: Sequence[str] = (),
    ) -> aws.acm.CertificateValidation:
        """DNS records proving we own `hosts` of `cert`, and the wait for its issue. The records of
        `shared` names are another stack's (the global stack owns `api.<domain>`): only awaited."""
        ...

    def point(
        self, name: str, host: str, target: pulumi.Input[str], target_zone_id: pulumi.Input[str]
    ) -> None:
        """`host` answers with `target` (an AWS load balancer or CloudFront name)."""
        ...

    def apex(self, name: str, domain: str) -> pulumi.Resource:
        """An A record at the domain's apex (Cognito's custom domain needs its parent to resolve)."""
        ...


# RFC 5737 documentation address: the apex's placeholder until a site lives there. Cognito only
# needs the parent domain of auth.<domain> to resolve; any A record does.
APEX_PLACEHOLDER_IPV4 = "192.0.2.1"


def validation_option(cert: aws.acm.Certificate, host: str) -> pulumi.Output[Any]:
    """ACM's DNS-validation record for one name of a certificate (chosen by name, not position:
    the provider does not promise an order)."""

    def pick(options: Sequence[Any]) -> Any:
        return next(o for o in options if o.domain_name == host)

    return cert.domain_validation_options.apply(pick)


def await_issue(
    owner: pulumi.Resource,
    name: str,
    cert: aws.acm.Certificate,
    own_fqdns: Sequence[pulumi.Input[str]],
    shared: Sequence[str],
    region: str | None,
) -> aws.acm.CertificateValidation:
    """The wait for `cert` to be issued: the names of the records this stack wrote (`own_fqdns`)
    plus those of `shared` names, whose records another stack owns and which are only awaited."""
    shared_fqdns = [validation_option(cert, host).apply(lambda o: o.resource_record_name) for host in shared]
    return aws.acm.CertificateValidation(
        f"{name}-validation",
        certificate_arn=cert.arn,
        validation_record_fqdns=[*own_fqdns, *shared_fqdns],
        region=region,
        opts=pulumi.ResourceOptions(parent=owner),
    )
