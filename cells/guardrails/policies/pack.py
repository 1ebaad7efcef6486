"""The pack: every policy of every theme, in the order the engine runs them and `policy/README.md`
lists them. A theme's policies keep the order its module declares them in."""

from __future__ import annotations

from pulumi_policy import Policy

from cells.guardrails.policies import (
    encryption,
    exposure,
    iam,
    observability,
    protection,
    residency,
    tags,
)
from cells.guardrails.policies.registry import policies_of

THEMES = (residency, encryption, exposure, iam, tags, protection, observability)

ALL_POLICIES: list[Policy] = [policy for theme in THEMES for policy in policies_of(theme.__name__)]
POLICIES_BY_NAME = {p.name: p for p in ALL_POLICIES}
