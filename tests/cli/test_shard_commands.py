"""`python -m cells shards show|plan`: the map as configured, what a change moves, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from cells.cli.main import main


def test_show_prints_the_map_and_the_published_document(capsys) -> None:
    assert main(["shards", "show", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert "32 logical shards" in out and "users-a" in out and "logical 0-15" in out
    assert "tenant acme-insurance (dedicated, own KMS key)" in out
    assert '"algorithm": "sha256-be64+jump"' in out


def test_plan_a_new_logical_count_reports_near_optimal_movement(capsys) -> None:
    assert main(["shards", "plan", "eu-central-1", "--logical", "11", "--sample", "20000"]) == 0
    out = capsys.readouterr().out
    assert "10 -> 11" in out and "optimal 9.09%" in out


def test_plan_moving_one_logical_shard_names_only_that_move(tmp_path: Path, capsys) -> None:
    proposed = tmp_path / "map.yaml"
    proposed.write_text(
        "logical: 32\nphysical:\n  users-a: 0-14\n  users-b: 15-31\n"
        "tenants:\n  acme-insurance:\n    physical: tenant-acme-insurance\n    dedicatedKmsKey: true\n"
    )
    assert main(["shards", "plan", "us-east-1", "--map", str(proposed)]) == 0
    out = capsys.readouterr().out
    assert "Logical shards changing physical shard: 1 (3.12% of consumer keys); no other key moves." in out
    assert "logical 15: users-a -> users-b" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["shards", "plan", "eu-central-1", "--logical", "60"], "logical is 60; must be 10 to 50"),
        (["shards", "plan", "eu-central-1", "--logical", "5"], "must be 10 to 50"),
        (["shards", "plan", "eu-central-1"], "give exactly one of --logical N or --map FILE"),
        (["shards", "plan", "eu-central-1", "--logical", "abc"], "invalid int value: 'abc'"),
        (["shards", "plan", "eu-central-1", "--map", "/nonexistent/map.yaml"], "no such file"),
        (["shards", "show", "global"], "global is the global stack; shards belong to cell stacks"),
        (["shards", "show", "mars-1"], "unknown stack 'mars-1'"),
    ],
    ids=[
        "count-above-range",
        "count-below-range",
        "neither-option",
        "not-a-number",
        "missing-file",
        "global-stack",
        "unknown-stack",
    ],
)
def test_bad_input_is_refused_with_exit_2_and_one_line(argv: list[str], expected: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "\n" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("logical: 10\nphysical:\n  users-a: 0-8\n", "logical shard 9 is in no physical shard"),
        (
            "logical: 10\nphysical:\n  users-a: 0-5\n  users-b: 5-9\n",
            "logical shard 5 is in both users-a and users-b",
        ),
        (
            "logical: 10\nphysical:\n  users-a: 0-9\ntenants:\n  acme:\n    physical: t-acme\n"
            "  beta:\n    physical: t-acme\n",
            "t-acme",
        ),
        ("logical: 10\nphysical:\n  users-a: 0-9\n  users-a: 0-9\n", "duplicate key 'users-a'"),
    ],
    ids=["logical-missing", "logical-twice", "tenants-share-a-shard", "duplicate-key"],
)
def test_a_bad_proposed_map_is_refused(tmp_path: Path, text: str, expected: str, capsys) -> None:
    proposed = tmp_path / "map.yaml"
    proposed.write_text(text)
    assert main(["shards", "plan", "eu-central-1", "--map", str(proposed)]) == 2
    assert expected in capsys.readouterr().err
