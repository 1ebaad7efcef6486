"""`myark:edge`: how `api.<domain>` reaches each user's home cell (same in every stack)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel

from cells.core.config.base import Model


class EdgeSpec(Model):
    """How `api.<domain>` reaches each user's home cell."""

    provider: Literal["route53", "cloudflare"] = Field(
        "route53", description="cloudflare routes per user (Worker); route53 routes per DNS query."
    )
    cloudflare_account_id: str | None = Field(None, description="Cloudflare account id (32 hex digits).")
    cloudflare_zone_id: str | None = Field(
        None, description="Cloudflare zone id of the domain (32 hex digits)."
    )

    @model_validator(mode="after")
    def _cloudflare_ids(self) -> EdgeSpec:
        if self.provider == "cloudflare":
            for key in ("cloudflare_account_id", "cloudflare_zone_id"):
                value = getattr(self, key)
                if not value or not re.fullmatch(r"[0-9a-f]{32}", value):
                    raise ValueError(
                        f"{to_camel(key)}: is {value!r}; the cloudflare edge needs the 32-hex-digit id"
                    )
        return self
