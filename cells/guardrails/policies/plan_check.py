"""The offline world: the same policy objects over a recorded plan (`check_plan`).

A real `pulumi preview/up --policy-pack policy` hands each resource to `validate` as pulumi_policy's
`ResourceValidationArgs` (inputs by wire name behind the engine's unknown-checking proxy, options,
provider) and the stack's config in `PULUMI_CONFIG`. Here `make_args` builds the very same args from
a recorded `cells.offline.plan.Plan`, plus the stack config they carry instead of the environment.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from cells.guardrails.policies.pack import ALL_POLICIES
from cells.guardrails.policies.registry import ADVISORY

if TYPE_CHECKING:
    from cells.offline.plan import Plan, PlannedResource


class PlanResourceArgs(ResourceValidationArgs):
    """pulumi_policy's own argument bag, plus the stack config a real run reads from PULUMI_CONFIG."""

    def __init__(self, *, stack_config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stack_config = stack_config


class PlanStackArgs(StackValidationArgs):
    def __init__(self, *, stack_config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stack_config = stack_config


def _plain(value: Any) -> Any:
    """A deep, plain copy (dicts and lists), the shape the engine deserializes properties into."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


def _options(protect: bool, parent: str | None, aliases: Sequence[str]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=list(aliases),
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent,
    )


def make_args(
    resource_type: str,
    props: Mapping[str, Any],
    *,
    name: str = "r",
    urn: str | None = None,
    protect: bool = False,
    provider_props: Mapping[str, Any] | None = None,
    stack_config: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    parent: str | None = None,
    aliases: Sequence[str] = (),
) -> PlanResourceArgs:
    """The args the engine would send for one resource (props proxied exactly as the engine's are)."""
    pkg = resource_type.split(":")[0]
    provider = None
    if provider_props is not None:
        provider = PolicyProviderResource(
            f"pulumi:providers:{pkg}",
            unknown_checking_proxy(_plain(provider_props)),
            f"urn:pulumi:stack::project::pulumi:providers:{pkg}::default",
            "default",
        )
    return PlanResourceArgs(
        resource_type=resource_type,
        props=unknown_checking_proxy(_plain(props)),
        urn=urn or f"urn:pulumi:stack::project::{resource_type}::{name}",
        name=name,
        opts=_options(protect, parent, aliases),
        provider=provider,
        config=dict(config or {}),
        stack_config=stack_config if stack_config is not None else {},
    )


def make_stack_args(
    resources: Sequence[PolicyResource],
    *,
    stack_config: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
) -> PlanStackArgs:
    return PlanStackArgs(
        resources=list(resources),
        config=dict(config or {}),
        stack_config=stack_config if stack_config is not None else {},
    )


def make_policy_resource(
    resource_type: str,
    props: Mapping[str, Any],
    *,
    name: str = "r",
    urn: str | None = None,
    protect: bool = False,
    provider_props: Mapping[str, Any] | None = None,
) -> PolicyResource:
    one = make_args(resource_type, props, name=name, urn=urn, protect=protect, provider_props=provider_props)
    return PolicyResource(
        one.resource_type, one.props, one.urn, one.name, one.opts, one.provider, None, [], {}
    )


def _stack_file_config(stack: str) -> Mapping[str, Any]:
    from cells.core.config.stack_files import read_stack_file
    from cells.core.errors import ConfigError

    try:
        return read_stack_file(stack).values
    except ConfigError:
        return {}


def _level(policy: Policy, config: Mapping[str, Any]) -> str:
    level = str(config.get("enforcementLevel", (policy.enforcement_level or ADVISORY).value))
    # As the engine does: a remediation that still finds a violation reports it as mandatory.
    return EnforcementLevel.MANDATORY.value if level == EnforcementLevel.REMEDIATE.value else level


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        asyncio.run(result)  # type: ignore[arg-type]


def check_plan(
    plan: Plan,
    stack_config: Mapping[str, Any] | None = None,
    policy_config: Mapping[str, Mapping[str, Any] | str] | None = None,
    policies: Sequence[Policy] | None = None,
) -> list[dict[str, str]]:
    """Run the policies over a recorded plan: `[{"policy", "urn", "level", "message"}]`.

    Resource policies see each cloud resource's inputs, options and provider (the provider's recorded
    inputs, or the plan's resolved region), as `Analyze` does. Stack policies see outputs, as
    `AnalyzeStack` does: offline, the mock engine's outputs for the same inputs. `stack_config`
    defaults to the stack's `Pulumi.<stack>.yaml`; `policy_config` mirrors `--policy-pack-config`
    (per policy: an enforcement level, or properties with an optional `enforcementLevel`).
    """
    from cells.offline.mocks import MyarkMocks

    config_values = stack_config if stack_config is not None else _stack_file_config(plan.stack)
    resources = [r for r in plan.resources if r.custom and not r.type.startswith("pulumi:")]
    providers = {r.urn: r for r in plan.resources if r.type.startswith("pulumi:providers:")}
    mocks = MyarkMocks()
    violations: list[dict[str, str]] = []

    def provider_props(r: PlannedResource) -> Mapping[str, Any]:
        found = providers.get(r.provider or "")
        props = dict(found.inputs) if found else {}
        if r.region and "region" not in props:
            props["region"] = r.region
        return props

    def resource_args(r: PlannedResource, config: Mapping[str, Any]) -> PlanResourceArgs:
        return make_args(
            r.type,
            r.inputs,
            name=r.name,
            urn=r.urn,
            protect=r.protect,
            provider_props=provider_props(r),
            stack_config=config_values,
            config=config,
            parent=r.parent,
            aliases=r.aliases,
        )

    def outputs(r: PlannedResource) -> PolicyResource:
        _, state = mocks.outputs_for(r.type, r.name, dict(r.inputs), r.region)
        return make_policy_resource(
            r.type, state, name=r.name, urn=r.urn, protect=r.protect, provider_props=provider_props(r)
        )

    stack_resources: list[PolicyResource] | None = None
    for policy in policies if policies is not None else ALL_POLICIES:
        raw = (policy_config or {}).get(policy.name, {})
        config = {"enforcementLevel": raw} if isinstance(raw, str) else dict(raw)
        level = _level(policy, config)
        if level == EnforcementLevel.DISABLED.value:
            continue

        def reporter(default_urn: str, _name: str = policy.name, _level: str = level) -> ReportViolation:
            def report(message: str, urn: str | None = None) -> None:
                violations.append(
                    {"policy": _name, "urn": urn or default_urn, "level": _level, "message": message}
                )

            return report

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                _run(policy.validate(resource_args(r, config), reporter(r.urn)))
        elif isinstance(policy, StackValidationPolicy):
            if stack_resources is None:
                stack_resources = [outputs(r) for r in resources]
            stack_urn = (
                f"urn:pulumi:{plan.stack}::{plan.project}::pulumi:pulumi:Stack::{plan.project}-{plan.stack}"
            )
            args = make_stack_args(stack_resources, stack_config=config_values, config=config)
            _run(policy.validate(args, reporter(stack_urn)))
    return violations
