"""Tags on everything: one stack transformation adds the stack's tag set to every taggable resource.

AWS resources take `tags`, GCP resources `labels` (keys rewritten to GCP's label alphabet). A tag a
resource sets itself (e.g. `myark:tenant`) wins over the stack's.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import pulumi

from cells.core.naming import gcp_labels


@cache
def _accepts(cls: type, param: str) -> bool:
    init = getattr(cls, "_internal_init", None)
    return init is not None and param in inspect.signature(init).parameters


def _merge(base: dict[str, str], own: Any) -> Any:
    if own is None:
        return dict(base)
    if isinstance(own, dict):
        return {**base, **own}
    return pulumi.Output.from_input(own).apply(lambda o: {**base, **(o or {})})


def register_tags(tags: dict[str, str]) -> None:
    labels = gcp_labels(tags)

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        cls = type(args.resource)
        props: Any = args.props
        if args.type_.startswith("aws:") and _accepts(cls, "tags"):
            props["tags"] = _merge(tags, props.get("tags"))
        elif args.type_.startswith("gcp:") and _accepts(cls, "labels"):
            props["labels"] = _merge(labels, props.get("labels"))
        else:
            return None
        return pulumi.ResourceTransformationResult(args.props, args.opts)

    pulumi.runtime.register_stack_transformation(transform)
