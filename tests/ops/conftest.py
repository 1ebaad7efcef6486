"""Fixtures of the live tools' tests: a moto account, the cell directory at either edge, a move world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from directory_support import (
    KV_SETTINGS,
    NAMESPACE_ID,
    TOKEN,
    add_spare_cell,
    directory_table,
    edit_all,
    health_checks,
    use_cloudflare,
)
from moto import mock_aws
from move_support import US, Env, build
from ops_support import fake_credentials

from cells.ops import move as move_module


@pytest.fixture
def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty moto account in us-east-1 with fake credentials: no call can reach AWS."""
    fake_credentials(monkeypatch, "us-east-1")
    with mock_aws():
        yield


@pytest.fixture
def directory_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A moto account with the global stack's cell directory table, and no Cloudflare settings."""
    fake_credentials(monkeypatch, "us-east-1")
    for key in KV_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    with mock_aws():
        directory_table()
        yield


@pytest.fixture
def route53_fleet(fleet_copy: Path, directory_account: None) -> Path:
    """The project's fleet plus eu-spare, Route53 edge: one health check per cell."""
    add_spare_cell(fleet_copy)
    health_checks(fleet_copy)
    return fleet_copy


@pytest.fixture
def cloudflare_fleet(fleet_copy: Path, directory_account: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's fleet plus eu-spare, Cloudflare edge, with its KV settings in the environment."""
    add_spare_cell(fleet_copy)
    edit_all(fleet_copy, use_cloudflare)
    monkeypatch.setenv("MYARK_KV_NAMESPACE_ID", NAMESPACE_ID)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    return fleet_copy


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """A move world in moto (see move_support.build), copying in batches of 5 documents."""
    fake_credentials(monkeypatch, US)
    monkeypatch.setattr(move_module, "BATCH", 5)  # several batches per user: mid-copy crashes bite
    with mock_aws():
        yield build()
