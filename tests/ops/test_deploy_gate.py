"""The deploy wave's bake reads the release gate every minute and a failed wave rolls back to each
stack's last good image (the workflow as GitHub runs it; actionlint checks its syntax elsewhere)."""

from __future__ import annotations

import shlex
from typing import Any

import yaml
from ops_support import run

from cells.core.config.stack_files import PROJECT_ROOT

WAVE = PROJECT_ROOT / ".github" / "workflows" / "deploy-wave.yml"


def jobs() -> dict[str, Any]:
    return yaml.safe_load(WAVE.read_text())["jobs"]


def step(job: dict[str, Any], name_start: str) -> dict[str, Any]:
    (found,) = [s for s in job["steps"] if s.get("name", "").startswith(name_start)]
    return found


def test_the_gated_bake_polls_the_gate_every_minute_and_then_records_the_good_image() -> None:
    bake = jobs()["bake"]
    gate = step(bake, "bake ${{ inputs.bake-minutes }} min, gate read every minute")
    assert gate["if"] == "inputs.health-gate" and "sleep" not in gate["run"]
    command = gate["run"].split("\n", 1)[1].replace("\\\n", " ")
    argv = shlex.split(command)
    assert argv[:2] == ["./dev", "bake"]
    assert argv[argv.index("--interval") + 1] == "60" and "--expect-task-definition" in argv
    assert "pulumi stack output apiTaskDefinitionArn" in gate["run"]
    names = [s.get("name", "") for s in bake["steps"]]
    record = step(bake, "record the last good image")
    assert names.index(record["name"]) > names.index(gate["name"])  # only after a clean bake
    assert "pulumi stack tag set myark:last-good-image" in record["run"] and "apiImage" in record["run"]


def test_a_failed_wave_rolls_back_its_own_stacks_to_their_last_good_image() -> None:
    rollback = jobs()["rollback"]
    assert rollback["needs"] == ["up", "bake"] and "failure()" in rollback["if"]
    assert rollback["strategy"]["matrix"]["stack"] == "${{ fromJSON(inputs.stacks) }}"  # this wave's stacks
    good = step(rollback, "the last good image")
    assert "pulumi stack tag get myark:last-good-image" in good["run"] and "exit 1" in good["run"]
    assert "pulumi config set --path 'myark:cell.api.image'" in good["run"]
    up = [s for s in rollback["steps"] if s.get("with", {}).get("command") == "up"]
    assert len(up) == 1 and up[0]["with"]["policyPacks"] == "policy"
    assert "./dev bake" in step(rollback, "gate after the rollback")["run"]


def test_the_workflows_bake_arguments_parse(fleet_copy, capsys) -> None:
    # The arguments the workflow passes reach the real parser (a negative time is refused, exit 2).
    assert run(["bake", "eu-central-1", "--minutes", "-5", "--interval", "60"], fleet_copy) == 2
    assert "the bake time must be 0 or more minutes" in capsys.readouterr().err
