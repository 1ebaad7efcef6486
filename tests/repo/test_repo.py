"""The repository stands on its own: the README's layout matches the tree, no file cites outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from cells.core.config.stack_files import PROJECT_ROOT


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def _layout_entries() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    entries = []
    for line in block.splitlines():
        head = line[:35].strip()  # the left column
        entries += [e.strip() for e in head.split(",") if e.strip()]
    return entries


def test_every_path_in_the_readme_layout_exists() -> None:
    for entry in _layout_entries():
        if "<" in entry:  # a pattern such as Pulumi.<stack>.yaml
            pattern = re.escape(entry).replace(re.escape("<stack>"), "[^/]+")
            assert any(re.fullmatch(pattern, f) for f in _tracked()), entry
        else:
            assert (PROJECT_ROOT / entry).exists(), f"README layout names {entry}, which is not in the tree"


def test_every_top_level_directory_is_in_the_readme_layout() -> None:
    entries = _layout_entries()
    tops = {f.split("/")[0] for f in _tracked() if "/" in f}
    for top in sorted(tops):
        assert any(e == f"{top}/" or e.startswith(f"{top}/") for e in entries), f"README layout misses {top}/"


def test_no_file_cites_a_document_outside_the_repository() -> None:
    # Spelled in pieces so this file does not match itself.
    outside = re.compile(
        "|".join(["DESIGN" + r"\.md", "/work/" + "shared", "shared/" + "seed", "CONVENTIONS" + r"\.md"])
    )
    for name in _tracked():
        path = PROJECT_ROOT / name
        if path.suffix in {".py", ".md", ".js", ".mjs", ".yaml", ".yml", ".toml"} and path.is_file():
            assert not outside.search(path.read_text(errors="replace")), (
                f"{name} cites a document outside the repo"
            )


_TOP = (
    "cells/",
    "tests/",
    "docs/",
    "scripts/",
    "benchmarks/",
    "state/",
    "scanners/",
    "edge-worker/",
    "policy/",
)
_CITED_PATH = re.compile(
    r"(?<![\w.:/-])((?:\.\./)*(?:" + "|".join(re.escape(t) for t in _TOP) + r")[\w./-]*[\w/])"
)


def test_every_repo_path_the_docs_cite_exists() -> None:
    # A re-layout that moves a module must move the docs with it: every path under a top-level
    # directory of this repo, cited in a Markdown file of the repo, names a file or directory that
    # exists (globs, placeholders and generated or ignored paths aside).
    stale = []
    for name in _tracked():
        if not name.endswith(".md") or name.startswith("edge-worker/node_modules"):
            continue
        for lineno, line in enumerate((PROJECT_ROOT / name).read_text().splitlines(), 1):
            for m in _CITED_PATH.finditer(line):
                cited = m.group(1).rstrip(".")
                if any(c in line[m.start() : m.end() + 1] for c in "<*{") or "node_modules" in cited:
                    continue
                base = (PROJECT_ROOT / name).parent if cited.startswith("../") else PROJECT_ROOT
                if not (base / cited).exists():
                    stale.append(f"{name}:{lineno}: {cited}")
    assert not stale, "docs cite paths that do not exist:\n" + "\n".join(stale)


def test_every_package_is_in_the_readme_layout() -> None:
    entries = set(_layout_entries())
    packages = sorted({str(Path(f).parent) + "/" for f in _tracked() if f.endswith("__init__.py")})
    # A package is named itself (or through its listed subpackages), or its parent is named.
    missing = [
        p
        for p in packages
        if not any(e.startswith(p) for e in entries) and str(Path(p).parent) + "/" not in entries
    ]
    assert not missing, f"README layout misses the packages {missing}"


MAX_MODULE_LINES = 500


def test_no_module_grows_past_the_size_a_reader_takes_in_at_once() -> None:
    # Issue #15's bar: a module over about 500 lines mixes concerns; split it by theme as
    # cells/guardrails/policies/ and cells/core/config/ are.
    long = {
        f: n
        for f in _tracked()
        if f.startswith("cells/") and f.endswith(".py")
        for n in [len((PROJECT_ROOT / f).read_text().splitlines())]
        if n > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
