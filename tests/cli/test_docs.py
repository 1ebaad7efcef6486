"""`python -m cells docs [--check]`: the three generated files, rewritten or checked in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from cells.cli import docs
from cells.cli.main import main


def test_the_committed_generated_docs_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--check"]) == 0
    out = capsys.readouterr().out
    for name in ("docs/config.md", "docs/provider-rules.md", "policy/README.md"):
        assert f"current {name}" in out


@pytest.fixture
def copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[Path, str]:
    """The generated files copied under tmp_path (the repo's copy of each is never touched)."""
    real = docs.generated()
    fresh = {path: render() for path, render in real.items()}
    local = {}
    for path in real:
        target = tmp_path / path.relative_to(docs.PROJECT_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fresh[path])
        local[target] = fresh[path]
    monkeypatch.setattr(docs, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(docs, "generated", lambda: {p: (lambda t=t: t) for p, t in local.items()})
    return local


def test_check_lists_a_stale_file_and_writes_nothing(copies, tmp_path, capsys) -> None:
    stale = tmp_path / "docs" / "config.md"
    stale.write_text("hand-edited\n")
    assert main(["docs", "--check"]) == 1
    err = capsys.readouterr().err
    assert "stale docs/config.md" in err and "./dev docs" in err
    assert stale.read_text() == "hand-edited\n"


def test_docs_rewrites_only_the_stale_file(copies, tmp_path, capsys) -> None:
    stale = tmp_path / "docs" / "provider-rules.md"
    stale.write_text("old\n")
    assert main(["docs"]) == 0
    out = capsys.readouterr().out
    assert "wrote docs/provider-rules.md" in out and "current docs/config.md" in out
    assert stale.read_text() == copies[stale]


def test_a_readme_without_its_markers_is_one_line_not_a_traceback(monkeypatch, capsys) -> None:
    def broken() -> str:
        raise ValueError("policy/README.md lacks the markers of the generated table")

    monkeypatch.setattr(docs, "generated", lambda: {docs.PROJECT_ROOT / "policy" / "README.md": broken})
    assert main(["docs", "--check"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("docs: ") and "markers" in err and "\n" not in err
