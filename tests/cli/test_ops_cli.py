"""The live tools' command line and plumbing: every help explains its exit codes, errors explain themselves."""

from __future__ import annotations

import argparse
import urllib.error
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, NoCredentialsError, ReadTimeoutError
from cli_support import cli_parser

from cells.cli import ops as ops_commands
from cells.cli.ops import HANDLERS
from cells.core.errors import UsageError
from cells.ops.aws import Aws, explain, iam_action
from cells.ops.edge import CloudflareKV, EdgeError, HttpRequest, urllib_transport


def parser() -> argparse.ArgumentParser:
    return cli_parser(ops_commands)


@pytest.mark.parametrize(
    "command",
    [
        ["audit"],
        ["audit", "residency"],
        ["status"],
        ["bake"],
        ["drain"],
        ["activate"],
        ["down"],
        ["reconcile"],
    ],
    ids=" ".join,
)
def test_every_help_explains_its_exit_codes(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args([*command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "Exit codes: 0 " in text and "; 1 " in text and "; 2 " in text


def test_every_command_has_a_handler() -> None:
    assert set(HANDLERS) == {"audit", "status", "bake", "drain", "activate", "down", "reconcile"}
    args = parser().parse_args(["drain", "eu-central-1", "--force", "--profile", "ops"])
    assert (args.command, args.cell, args.force, args.profile) == ("drain", "eu-central-1", True, "ops")
    args = parser().parse_args(["audit", "residency", "eu-central-1", "--json", "out.json"])
    assert (args.audit_check, args.stack, args.json, args.regions) == (
        "residency",
        "eu-central-1",
        "out.json",
        None,
    )


def test_activate_has_no_force() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["activate", "eu-central-1", "--force"])


def test_an_unknown_profile_is_bad_input(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config"
    config.write_text("[profile prod]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with pytest.raises(UsageError, match=r"--profile nope: no such AWS profile .* known profiles: prod"):
        Aws.connect("nope")


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration"),
        ("s3", "ListBuckets", "s3:ListAllMyBuckets"),
        ("elbv2", "DescribeTargetHealth", "elasticloadbalancing:DescribeTargetHealth"),
        ("resourcegroupstaggingapi", "GetResources", "tag:GetResources"),
        ("dynamodb", "UpdateItem", "dynamodb:UpdateItem"),
    ],
)
def test_denied_calls_name_the_iam_action_to_allow(service: str, operation: str, action: str) -> None:
    assert iam_action(service, operation) == action
    error = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, operation)
    assert f"allows {action}," in str(explain(error, service, operation, "eu-west-1"))


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "GetItem"), "refresh them"),
        (NoCredentialsError(), "Pass --profile NAME, set AWS_PROFILE"),
        (ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"), "could not reach AWS"),
        (ClientError({"Error": {"Code": "ValidationException", "Message": "bad key"}}, "GetItem"), "failed"),
    ],
    ids=["expired", "no-credentials", "timeout", "other"],
)
def test_every_failure_names_the_call_and_region(error: Exception, says: str) -> None:
    message = str(explain(error, "dynamodb", "GetItem", "eu-west-1"))
    assert message.startswith("dynamodb:GetItem in eu-west-1") and says in message and "\n" not in message


def test_an_unreachable_cloudflare_api_is_an_edge_error(monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    kv = CloudflareKV("a" * 32, "b" * 32, "token")
    with pytest.raises(EdgeError, match=r"could not reach the Cloudflare API \(Name or service not known\)"):
        kv.get("status:eu-central-1")
    with pytest.raises(EdgeError, match="HTTPS_PROXY"):
        urllib_transport(HttpRequest("GET", "https://api.cloudflare.com/client/v4/x"))
