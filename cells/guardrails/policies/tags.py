"""Tags: every taggable resource carries its stack's cell, region and residency (GCP: labels)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cells.core.naming import REQUIRED_TAGS, TAG_CELL, TAG_REGION, TAG_RESIDENCY
from cells.guardrails.policies.context import stack_context
from cells.guardrails.policies.readers import _label_key, _label_value, _type_parts
from cells.guardrails.policies.registry import MANDATORY, resource_policy


@resource_policy(
    "required-tags",
    f"Taggable resources carry {', '.join(REQUIRED_TAGS)} (GCP labels: "
    f"{', '.join(_label_key(t) for t in REQUIRED_TAGS)}) matching their stack.",
    MANDATORY,
    remediation="let the stack transformation (cells.infra.components.tagging.register_tags) tag the resource; never override "
    "the cell's own tags.",
)
def REQUIRED_TAGS_POLICY(args: Any) -> Iterator[str]:
    pkg, _ = _type_parts(args.resource_type)
    ctx = stack_context(args)
    expected = {TAG_CELL: ctx.cell, TAG_REGION: ctx.region, TAG_RESIDENCY: ctx.zone}
    if pkg == "aws" and isinstance(args.props.get("tags"), Mapping):
        present, want, field = args.props["tags"], expected, "tags"
    elif pkg == "gcp" and isinstance(args.props.get("labels"), Mapping):
        present, field = args.props["labels"], "labels"
        want = {_label_key(k): (_label_value(v) if v else None) for k, v in expected.items()}
    else:
        return
    missing = [k for k in want if not present.get(k)]
    if missing:
        yield f"{field} lack {', '.join(missing)}."
    wrong = [
        f"{k}={present.get(k)!r} (stack: {v!r})"
        for k, v in want.items()
        if v and present.get(k) and present.get(k) != v
    ]
    if wrong:
        yield f"{field} disagree with the stack: {', '.join(wrong)}."
