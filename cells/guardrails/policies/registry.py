"""How a rule becomes a policy: a decorator right above its check.

    @resource_policy(
        "kms-key-rotation",
        "KMS keys rotate their key material every year.",
        MANDATORY,
        remediation="set enable_key_rotation=True on the aws.kms.Key.",
    )
    def KMS_ROTATION(args: Any) -> Iterator[str]:
        ...

A check is a generator of messages (a stack check: of `(urn, message)` pairs). The decorator builds
the `pulumi_policy` object the engine runs (`ResourceValidationPolicy` or `StackValidationPolicy`),
whose `validate` appends the remediation to every message, so no violation leaves without a fix;
it returns that policy object, so the decorated name (`KMS_ROTATION`) IS the policy, and it records
the policy under its theme module. `cells.guardrails.policies.pack` puts the themes in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

Check = Callable[[Any], Iterable[str]]
StackCheck = Callable[[Any], Iterable[tuple[str | None, str]]]

# (the module that declared it, the policy), in declaration order.
_REGISTERED: list[tuple[str, Policy]] = []


def _register(module: str, policy: Policy) -> None:
    if any(p.name == policy.name for _, p in _REGISTERED):
        raise ValueError(f"policy {policy.name!r} is registered twice")
    _REGISTERED.append((module, policy))


def policies_of(module: str) -> list[Policy]:
    """The policies a theme module declared, in the order it declared them."""
    return [policy for declared_in, policy in _REGISTERED if declared_in == module]


def resource_policy(
    name: str,
    description: str,
    level: EnforcementLevel,
    *,
    remediation: str,
    config_schema: PolicyConfigSchema | None = None,
) -> Callable[[Check], ResourceValidationPolicy]:
    """A policy over each resource's inputs, options and provider (the engine's `Analyze`)."""

    def register(check: Check) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            for message in check(args):
                report_violation(f"{message} Remediation: {remediation}", None)

        policy = ResourceValidationPolicy(
            name=name,
            description=description,
            enforcement_level=level,
            validate=validate,
            remediation_steps=remediation,
            config_schema=config_schema,
        )
        _register(check.__module__, policy)
        return policy

    return register


def stack_policy(
    name: str, description: str, level: EnforcementLevel, *, remediation: str
) -> Callable[[StackCheck], StackValidationPolicy]:
    """A policy over relations between the stack's resources, seen by their outputs (`AnalyzeStack`)."""

    def register(check: StackCheck) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            for urn, message in check(args):
                report_violation(f"{message} Remediation: {remediation}", urn)

        policy = StackValidationPolicy(
            name=name,
            description=description,
            enforcement_level=level,
            validate=validate,
            remediation_steps=remediation,
        )
        _register(check.__module__, policy)
        return policy

    return register
