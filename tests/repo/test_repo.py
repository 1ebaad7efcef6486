"""The repository stands on its own: the README's layout matches the tree, no file cites outside it."""

from __future__ import annotations

import re
import subprocess

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
