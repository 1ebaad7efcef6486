"""What the moto tests of the live tools share: the CLI as `python -m cells` runs it, one boto3
session for all tests, and fake credentials."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import boto3
import moto  # noqa: F401  # registers moto's botocore handler before SESSION below copies the handlers
import pytest

from cells.cli.ops import HANDLERS, register
from cells.core.errors import UserError


def run(argv: list[str], root: Path, **extra: Any) -> int:
    """The commands as `python -m cells` runs them: register + HANDLERS, UserError -> 2."""
    parser = argparse.ArgumentParser(prog="cells")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    vars(args).update(root=root, **extra)
    try:
        return HANDLERS[args.command](args)
    except UserError as exc:
        print(exc, file=sys.stderr)
        return 2


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
