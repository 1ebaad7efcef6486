"""docs/config.md is generated from the config models; a stale copy fails here."""

from __future__ import annotations

from cells.core.config.stack import StackConfig
from cells.core.config.stack_files import PROJECT_ROOT
from cells.core.config_reference import render


def test_the_config_reference_is_current() -> None:
    committed = (PROJECT_ROOT / "docs" / "config.md").read_text()
    assert committed == render(), "run: ./dev docs"


def test_every_key_is_documented() -> None:
    text = render()
    for alias in (
        "myark:cell.network.cidr",
        "myark:cell.shards.tenants.<name>.dedicatedKmsKey",
        "myark:edge.provider",
    ):
        assert f"`{alias}`" in text
    rows = [line for line in text.splitlines() if line.startswith("| `myark:")]
    undocumented = [r.split("|")[1] for r in rows if r.rstrip().endswith("|  |")]
    assert not undocumented, undocumented
    assert len(rows) > len(StackConfig.model_fields) + 30
