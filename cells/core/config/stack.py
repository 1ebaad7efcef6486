"""Everything under `myark:` in one stack file (`StackConfig`), and a validated stack (`StackSettings`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from cells.core.config.base import NAMESPACE, Model
from cells.core.config.cell import CellSpec
from cells.core.config.edge import EdgeSpec
from cells.core.config.global_ import GlobalSpec


def _account_id(value: Any) -> Any:
    # YAML reads an unquoted 12-digit account id as a number; AWS ids keep their leading zeros.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12:
        return f"{value:012d}"
    return value


class StackConfig(Model):
    """Everything under `myark:` in one stack file."""

    kind: Literal["cell", "global"] = Field(
        description="What the stack builds: one cell, or the global control plane."
    )
    domain: str = Field(description="Public domain; the API lives at api.<domain>.")
    environment: Literal["production", "staging", "development"] = Field(
        "production", description="Tagged on every resource (myark:environment)."
    )
    edge: EdgeSpec = Field(
        default_factory=lambda: EdgeSpec.model_validate({}),
        description="The fleet's edge: same in every stack.",
    )
    global_stack: str | None = Field(
        None, description="Fully qualified name of the global stack a cell reads (org/project/stack)."
    )
    cell: CellSpec | None = Field(None, description="The cell (cell stacks only).")
    global_: GlobalSpec | None = Field(
        None, alias="global", description="The control plane (global stack only)."
    )
    cloudflare_api_token: str | None = Field(None, description="Secret. Required by the cloudflare edge.")
    origin_secret: str | None = Field(
        None,
        description="Secret (cell stacks, cloudflare edge). The value the Worker sends in X-MyARK-Origin-Auth "
        "and the cell's load balancer requires: 32 to 128 letters, digits, `-` or `_`.",
    )
    origin_secret_previous: str | None = Field(
        None,
        description="Secret. The value being rotated out: the load balancer accepts it too until removed.",
    )
    aws_scp_target: Annotated[str | None, BeforeValidator(_account_id)] = Field(
        None,
        description="An AWS Organizations root, OU or account id: when set, the stack creates and attaches its "
        "zone's region-deny service control policy there (else it is only a stack output). An account id "
        "may be written as a number or a string.",
        pattern=r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$",
    )

    @field_validator("origin_secret", "origin_secret_previous")
    @classmethod
    def _origin_secret(cls, value: str | None) -> str | None:
        # The offline plan cannot decrypt secrets and sees "[secret]"; a real run sees the value.
        if value is not None and value != "[secret]" and not re.fullmatch(r"[A-Za-z0-9_-]{32,128}", value):
            raise ValueError(
                "must be 32 to 128 letters, digits, '-' or '_' (the load balancer matches it literally: "
                "no '*' or '?'); generate one with `openssl rand -hex 32`"
            )
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not re.fullmatch(r"(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", value):
            raise ValueError(f"{value!r} is not a DNS domain; write it like myark.io")
        return value

    @model_validator(mode="after")
    def _kind(self) -> StackConfig:
        if self.kind == "cell":
            if self.cell is None:
                raise ValueError(
                    f"{NAMESPACE}:cell: a cell stack needs it (name, region, network, api, gcp, shards)"
                )
            if self.global_ is not None:
                raise ValueError(
                    f"{NAMESPACE}:global: belongs in the global stack only; remove it from a cell stack"
                )
            if not self.global_stack:
                raise ValueError(
                    f"{NAMESPACE}:globalStack: a cell stack needs it, e.g. myark/myark-cells/global"
                )
            if len(self.global_stack.split("/")) != 3 or not all(self.global_stack.split("/")):
                raise ValueError(
                    f"{NAMESPACE}:globalStack: {self.global_stack!r} is not org/project/stack; "
                    "write it fully qualified, e.g. myark/myark-cells/global"
                )
        elif self.global_ is None:
            raise ValueError(
                f"{NAMESPACE}:global: a global stack needs it (region, zones, defaultZone, placement)"
            )
        if self.edge.provider == "cloudflare" and not self.cloudflare_api_token:
            raise ValueError(
                f"{NAMESPACE}:cloudflareApiToken: the cloudflare edge needs it (set it with --secret)"
            )
        return self

    @property
    def global_spec(self) -> GlobalSpec:
        assert self.global_ is not None, "not the global stack"
        return self.global_


SECRET_KEYS = ("cloudflareApiToken", "originSecret", "originSecretPrevious")
TOP_LEVEL_KEYS = tuple((info.alias or name) for name, info in StackConfig.model_fields.items())


@dataclass(frozen=True)
class StackSettings:
    """A validated stack: its file, its name, and its config."""

    stack: str
    file: str
    config: StackConfig
    # Values of other namespaces (aws:, gcp:, ...) kept for the checks that span them.
    foreign: Mapping[str, Any] = field(default_factory=dict)

    @property
    def cell(self) -> CellSpec:
        assert self.config.cell is not None, "not a cell stack"
        return self.config.cell
