"""What the moto tests of the live tools share: the CLI as `python -m cells` runs it, one boto3
session for all tests, fake credentials, AWS errors injected into one operation, and the stacks'
resources the tools look for (the cell directory table, a cell's health check, another cell)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import botocore.client
import moto  # noqa: F401  # registers moto's botocore handler before SESSION below copies the handlers
import pytest
import yaml
from botocore.exceptions import ClientError
from cli_support import run_commands

from cells.cli import ops as ops_commands

DIRECTORY_TABLE = "myark-cell-directory"  # cells/infra/components/control_plane.py


def run(argv: list[str], root: Path, **extra: Any) -> int:
    """The live tools' commands as `python -m cells` runs them, on the stack files in `root`."""
    return run_commands(ops_commands, argv, root=root, **extra)


# moto resets boto3's default session for every test, and a new session re-reads every service model
# (seconds per test): the tests share one session and its clients instead (moto answers them all).
SESSION = boto3.Session()
_CLIENTS: dict[tuple[str, str], Any] = {}


def client(service: str, region_name: str) -> Any:
    key = (service, region_name)
    if key not in _CLIENTS:
        _CLIENTS[key] = SESSION.client(service, region_name=region_name)
    return _CLIENTS[key]


def fake_credentials(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    """Credentials moto accepts and no real account would: no test can reach AWS."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def create_cell_health_check(r53: Any, cell: str) -> str:
    """A Route53 health check for CELL, tagged as the cell stacks register it; returns its id."""
    hc = r53.create_health_check(
        CallerReference=cell,
        HealthCheckConfig={
            "Type": "HTTPS",
            "FullyQualifiedDomainName": f"{cell}.api.myark.io",
            "Port": 443,
            "ResourcePath": "/healthz",
        },
    )["HealthCheck"]
    tags = [{"Key": "myark:role", "Value": "cell-health"}, {"Key": "myark:cell", "Value": cell}]
    r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hc["Id"], AddTags=tags)
    return hc["Id"]


def create_directory_table(ddb: Any) -> None:
    """The global stack's cell directory, as it deploys it (no items yet), through the client `ddb`."""
    ddb.create_table(
        TableName=DIRECTORY_TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "myark:role", "Value": "cell-directory"}],
    )


def add_cell(root: Path, name: str, region: str, cidr: str) -> None:
    """A non-default eu cell NAME in REGION, derived from the eu pilot's stack file in `root`."""
    doc = yaml.safe_load((root / "Pulumi.eu-central-1.yaml").read_text())
    cell = doc["config"]["myark:cell"]
    cell.update(name=name, region=region, defaultForZone=False)
    cell.pop("pilot", None)
    cell["network"]["cidr"] = cidr
    cell["gcp"]["project"] = f"myark-{name}"
    cell["shards"]["physical"] = {f"{name}-a": f"0-{cell['shards']['logical'] - 1}"}
    (root / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def fail_on(
    monkeypatch: pytest.MonkeyPatch, operation: str, error: Exception | None, answer: Any = None
) -> None:
    """Make one API operation (its API name, e.g. `GetResources`) raise `error` (or return `answer`);
    everything else reaches moto."""
    real = botocore.client.BaseClient._make_api_call

    def fake(self, operation_name: str, params: dict[str, Any]):
        if operation_name == operation:
            if error is not None:
                raise error
            return answer
        return real(self, operation_name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", fake)


def client_error(code: str, operation: str, message: str = "") -> ClientError:
    """The ClientError AWS answers `operation` with: `code`, and `message` (default: "<code> (test)")."""
    return ClientError({"Error": {"Code": code, "Message": message or f"{code} (test)"}}, operation)
