"""The benchmark's `lean_moto()` answers as moto does: a cancelled transaction changes nothing, a
committed one applies, and a version listing under a prefix is the same listing."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from ops_support import fake_credentials

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "moves.py"


@pytest.fixture(scope="module")
def lean_moto() -> Callable[[], Any]:
    spec = importlib.util.spec_from_file_location("bench_moves", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_moves"] = module
    environ, path = dict(os.environ), list(sys.path)
    try:
        spec.loader.exec_module(module)  # it sets test credentials for itself: not for the other tests
    finally:
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
    return module.lean_moto


def _world(lean: bool, lean_moto: Callable[[], Any]) -> Iterator[dict[str, Any]]:
    import contextlib

    with mock_aws(), lean_moto() if lean else contextlib.nullcontext():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="t", Item={"pk": {"S": "user#a"}, "cell": {"S": "us"}})
        ddb.put_item(TableName="t", Item={"pk": {"S": "count#eu"}, "users": {"N": "7"}})

        def move(condition_cell: str) -> str:
            try:
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": "t",
                                "Key": {"pk": {"S": "user#a"}},
                                "UpdateExpression": "SET #c = :eu",
                                "ExpressionAttributeNames": {"#c": "cell"},
                                "ExpressionAttributeValues": {":eu": {"S": "eu"}},
                            }
                        },
                        {
                            "Update": {
                                "TableName": "t",
                                "Key": {"pk": {"S": "count#eu"}},
                                "UpdateExpression": "ADD #u :one",
                                "ExpressionAttributeNames": {"#u": "users"},
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                        {
                            "Update": {
                                "TableName": "t",
                                "Key": {"pk": {"S": "count#new"}},
                                "UpdateExpression": "SET #u = :one",
                                "ConditionExpression": "attribute_not_exists(pk) AND :cell = :want",
                                "ExpressionAttributeNames": {"#u": "users"},
                                "ExpressionAttributeValues": {
                                    ":one": {"N": "1"},
                                    ":cell": {"S": condition_cell},
                                    ":want": {"S": "us"},
                                },
                            }
                        },
                    ]
                )
                return "committed"
            except ClientError as exc:
                return exc.response["Error"]["Code"]

        def items() -> dict[str, Any]:
            return {i["pk"]["S"]: i for i in ddb.scan(TableName="t")["Items"]}

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench-bucket")
        s3.put_bucket_versioning(Bucket="bench-bucket", VersioningConfiguration={"Status": "Enabled"})
        for key in ("users/a/1", "users/a/2", "users/ab/1", "users/b/1", "users/a/1"):
            s3.put_object(Bucket="bench-bucket", Key=key, Body=key.encode())

        def versions(prefix: str) -> list[tuple[str, bool]]:
            page = s3.list_object_versions(Bucket="bench-bucket", Prefix=prefix)
            return [(v["Key"], v["IsLatest"]) for v in page.get("Versions", [])]

        yield {"move": move, "items": items, "versions": versions}


@pytest.mark.parametrize("lean", [False, True], ids=["moto", "lean"])
def test_lean_moto_answers_as_moto(
    lean: bool, lean_moto: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_credentials(monkeypatch, "us-east-1")
    for w in _world(lean, lean_moto):
        before = w["items"]()
        assert w["move"]("eu") == "TransactionCanceledException"
        assert w["items"]() == before, "a cancelled transaction changes nothing"
        assert w["move"]("us") == "committed"
        after = w["items"]()
        assert after["user#a"]["cell"] == {"S": "eu"}
        assert after["count#eu"]["users"] == {"N": "8"}
        assert after["count#new"]["users"] == {"N": "1"}
        assert w["versions"]("users/a/") == [("users/a/1", True), ("users/a/1", False), ("users/a/2", True)]
        assert [k for k, _ in w["versions"]("users/")] == [
            "users/a/1",
            "users/a/1",
            "users/a/2",
            "users/ab/1",
            "users/b/1",
        ]
