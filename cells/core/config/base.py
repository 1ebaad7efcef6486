"""What every config model shares: the namespace, the model base, region keys, did-you-mean hints."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from cells.core.regions import REGIONS

NAMESPACE = "myark"
# Config namespaces the program reads: its own, and those of the providers it uses (plus Pulumi's).
FOREIGN_NAMESPACES = ("aws", "gcp", "cloudflare", "pulumi")


def did_you_mean(value: object, choices: Any) -> str:
    """' (did you mean 'x'?)' when one choice is close to the value, else ''."""
    names = [str(c) for c in choices]
    close = [c for c in names if c.lower() == str(value).lower()][:1]
    close = close or difflib.get_close_matches(str(value), names, n=1, cutoff=0.6)
    if not close and len(str(value)) >= 3:  # an abbreviation: prod -> production
        starts = [c for c in names if c.lower().startswith(str(value).lower())]
        close = starts if len(starts) == 1 else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_region(value: str) -> str:
    if value not in REGIONS:
        raise ValueError(
            f"unknown region {value!r}{did_you_mean(value, REGIONS)}; "
            f"known regions: {', '.join(sorted(REGIONS))}"
        )
    return value


KnownRegion = Annotated[str, AfterValidator(_known_region)]


class Model(BaseModel):
    """Config models: camelCase keys in YAML, unknown keys refused, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (`CellSpec | None`, `dict[str, ZoneSpec]`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = model_in(arg)
        if found:
            return found
    return None
