"""`cells move …` and `cells rebalance` as `python -m cells` runs them, on the moto/fake world."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cli_support import run_commands
from moto import mock_aws
from move_support import EU, US, Env, build, seed_user, snapshot
from ops_support import fake_credentials

from cells.cli import move as move_commands
from cells.ops.move_plan import MoveRefused


def run(argv: list[str], env: Env) -> int:
    """The move commands as `python -m cells` runs them, on the moto/fake world of `env`."""
    return run_commands(move_commands, argv, world=env.world)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    fake_credentials(monkeypatch, US)
    with mock_aws():
        env = build()
        env.world.log = print  # as the real CLI's world does
        yield env


def test_dry_run_reports_what_would_move_and_changes_nothing(env: Env, capsys) -> None:
    seed_user(env, "eu-1", US, "eu")
    assert run(["move", "user", "eu-1", "--to", EU, "--dry-run", "--json", "-"], env) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    (move,) = out["moves"]
    assert out["dryRun"] is True
    assert move["volume"] == {
        "users": 1,
        "documents": 12,
        "objects": 5,
        "rows": 9,
        "bytes": move["volume"]["bytes"],
    }
    assert move["volume"]["bytes"] > 5 * 100
    assert env.world.directory.get("move#user#eu-1") is None
    assert (env.world.directory.get("user#eu-1") or {})["cell"] == US


def test_refusals_exit_2_with_one_line(env: Env, capsys) -> None:
    seed_user(env, "us-1", US, "us")
    assert run(["move", "user", "us-1", "--to", EU], env) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "residency zone is us" in err
    assert run(["move", "user", "ghost", "--to", EU], env) == 2
    assert "no home in the directory" in capsys.readouterr().err
    assert run(["move", "shard", "99", "--to", "users-b"], env) == 2
    assert "does not exist in us-east-1" in capsys.readouterr().err
    assert run(["move", "shard", "3", "--to", "users-a"], env) == 2
    assert "belongs to eu-central-1, us-east-1; pass --cell" in capsys.readouterr().err
    assert run(["rebalance", "--from", US, "--to", EU, "--share", "0"], env) == 2
    assert run(["move", "cleanup", "--grace-hours", "0.1"], env) == 2
    assert env.world.directory.get("move#user#us-1") is None


def test_run_status_cleanup(env: Env, capsys) -> None:
    seed_user(env, "eu-1", US, "eu")
    before = snapshot(env, "eu-1", US)
    assert run(["move", "user", "eu-1", "--to", EU], env) == 0
    out = capsys.readouterr().out
    assert "done: user eu-1 now lives in eu-central-1" in out and "frozen -> copied" in out
    assert run(["move", "user", "eu-1", "--to", EU], env) == 0, "a re-run of a finished move is a no-op"
    assert run(["move", "status", "eu-1"], env) == 0
    assert "awaiting cleanup" in capsys.readouterr().out
    assert run(["move", "cleanup"], env) == 0
    assert "waiting" in capsys.readouterr().out and snapshot(env, "eu-1", US) == before
    env.clock.now += 25 * 3600
    assert run(["move", "cleanup", "--json", "-"], env) == 0
    (done,) = json.loads(capsys.readouterr().out)["cleanup"]
    assert done["result"].startswith("deleted 12 documents")


def test_rebalance_moves_only_the_share_of_the_targets_zone(env: Env, capsys) -> None:
    for i in range(30):
        seed_user(env, f"u{i}", US, "eu" if i % 3 else "us", docs=2, objects=1, rows=1)
    assert run(["rebalance", "--from", US, "--to", EU, "--share", "50", "--dry-run", "--json", "-"], env) == 0
    planned = [m["subject"] for m in json.loads(capsys.readouterr().out)["moves"]]
    assert planned and all(int(u[1:]) % 3 for u in planned)
    assert run(["rebalance", "--from", US, "--to", EU, "--share", "50", "--json", "-"], env) == 0
    assert sorted(json.loads(capsys.readouterr().out)["moved"]) == sorted(planned)
    for u in planned:
        assert (env.world.directory.get(f"user#{u}") or {})["cell"] == EU
    assert run(["rebalance", "--from", US, "--to", EU, "--share", "50", "--json", "-"], env) == 0
    assert json.loads(capsys.readouterr().out)["moved"] == [], "the same share selects no one new"


def test_rebalance_refuses_when_the_target_cannot_take_the_slice(env: Env) -> None:
    for i in range(10):
        seed_user(env, f"u{i}", US, "eu", docs=1, objects=0, rows=0)
    env.world.directory.update(f"count#{EU}", {"users": env.world.cells[EU].max_users - 1})
    with pytest.raises(MoveRefused, match="capacity"):
        move_commands.HANDLERS["rebalance"](
            argparse.Namespace(source=US, to=EU, share="100", dry_run=False, json=None, world=env.world)
        )


def test_rebalance_reports_a_directory_failure_in_one_line(env: Env, capsys, monkeypatch) -> None:
    from cells.ops.aws import AwsError

    seed_user(env, "eu-1", US, "eu")

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise AwsError("dynamodb Scan on myark-directory: AccessDeniedException")

    monkeypatch.setattr(env.world.directory, "scan_homes", broken)
    assert run(["rebalance", "--from", US, "--to", EU, "--share", "50"], env) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("move: ") and "AccessDeniedException" in err and "\n" not in err
    assert (env.world.directory.get("user#eu-1") or {})["cell"] == US, "nothing moved"
