"""Benchmark of the mover, in the in-memory setup the tests use (moto in-process for DynamoDB, S3 and
Cognito; fake-firestore; an in-memory BigQuery):

    .venv/bin/python benchmarks/moves.py [--documents 1000] [--objects 100] [--users 200] [--json PATH]

1. one EU user with 1,000 documents and 100 objects (and 200 BigQuery rows) moved from us-east-1 into
   eu-central-1: total time, and the frozen-write window (freeze to unfreeze). Goal: window < 5 s.
2. `rebalance` of N users (default 1,000; 3 documents, 1 object, 2 rows each): total time and users
   per second.

Two of moto's operations cost time in proportion to everything stored, not to what they touch, which
makes a 1,000-user rebalance quadratic (150 users: 1.8 GiB; 1,000 users: 18 GiB after 20 minutes):
TransactWriteItems deep-copies every table it names as its rollback backup
(moto/dynamodb/models/__init__.py, "Create a backup in case any of the transactions fail"), and
ListObjectVersions deep-copies every version of every key in the bucket, bodies included, before it
applies the prefix (moto/s3/models.py). A moto server in its own process runs the same backend code,
so it copies the same (it only moves the cost to another process). `lean_moto()` therefore replaces
exactly those two copies, for this benchmark only: the transaction backs up only the items it names
(and puts them back if it is cancelled: the same all-or-nothing result), and the version listing
copies only the keys under the prefix (the same answer). Every condition, update expression and
listing is still evaluated by moto's own code; the tests keep plain moto.

The figures measure this program's own work plus moto's and the fakes' (every AWS call goes through
botocore and moto's HTTP emulation); against real services, network round trips dominate instead.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ[key] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)

from moto import mock_aws  # noqa: E402
from move_support import EU, US, build, cells, seed_user  # noqa: E402

from cells.ops.move import Mover  # noqa: E402
from cells.ops.move_plan import rebalance_slice  # noqa: E402
from cells.ops.move_world import plan_user  # noqa: E402

WINDOW_GOAL_S = 5.0


@contextlib.contextmanager
def lean_moto() -> Iterator[None]:
    """moto without its two whole-store copies (see the module docstring); restored on exit."""
    import moto.dynamodb.models as ddb_models
    import moto.s3.models as s3_models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table
    from moto.s3.utils import _VersionedKeyStore

    backend = ddb_models.DynamoDBBackend
    real_transact, real_versions = backend.transact_write_items, s3_models.S3Backend.list_object_versions
    namespace: dict[str, Any] = ddb_models.__dict__  # moto imported `copy` there
    real_copy = namespace["copy"]

    class TableCopyIsIdentity:
        """moto's `copy` module as the transaction sees it: a Table is not copied (items are backed up below)."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            op = next(iter(entry.values())) if entry else {}
            name = op.get("TableName") if isinstance(op, dict) else None
            if not name or name not in self.tables:
                continue
            table = self.tables[name]
            attrs = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in attrs or table.range_key_attr is not None:
                return real_transact(self, transact_items)  # not this benchmark's shape: moto's own way
            hash_key = DynamoType(attrs[table.hash_key_attr])
            present = hash_key in table.items
            backups.append(
                (table, hash_key, present, copy.deepcopy(table.items[hash_key]) if present else None)
            )
        namespace["copy"] = TableCopyIsIdentity
        try:
            return real_transact(self, transact_items)
        except Exception:
            for table, hash_key, present, item in reversed(backups):
                if present:
                    table.items[hash_key] = item
                else:
                    table.items.pop(hash_key, None)
            raise
        finally:
            namespace["copy"] = real_copy

    def list_object_versions(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        prefix = kwargs.get("prefix") or ""
        bucket = self.get_bucket(bucket_name)
        every = bucket.keys
        under = _VersionedKeyStore()
        for key, versions in every.iterlists():
            if key.startswith(prefix):
                under.setlist(key, versions)
        bucket.keys = under
        try:
            return real_versions(self, bucket_name, *args, **kwargs)
        finally:
            bucket.keys = every

    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    s3_models.S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]
    try:
        yield
    finally:
        backend.transact_write_items = real_transact  # type: ignore[method-assign]
        s3_models.S3Backend.list_object_versions = real_versions  # type: ignore[method-assign]


def one_user(documents: int, objects: int) -> dict[str, Any]:
    with mock_aws():
        env = build()
        seed_user(env, "bench-user", US, "eu", docs=documents, objects=objects, rows=100)
        marks: dict[str, float] = {}

        def mark(point: str) -> None:
            marks.setdefault(point, time.perf_counter())

        env.world.fault = mark
        start = time.perf_counter()
        journal = Mover(env.world).run(plan_user(env.world, "bench-user", EU))
        total = time.perf_counter() - start
        assert journal["state"] == "done"
        return {
            "documents": documents,
            "objects": objects,
            "rows": journal["checksums"]["rows"],
            "total_s": round(total, 3),
            # writes flow during the pre-copy; the freeze follows it; they flow again once `done` is written
            "precopy_s": round(marks["precopy:done"] - marks["after:planned"], 3),
            "frozen_window_s": round(marks["after:done"] - marks["precopy:done"], 3),
            "copy_s": round(marks["after:copied"] - marks["after:frozen"], 3),
            "verify_s": round(marks["after:verified"] - marks["after:copied"], 3),
            "flip_s": round(marks["after:flipped"] - marks["after:verified"], 3),
        }


def rebalance(users: int, *, lean: bool = True) -> dict[str, Any]:
    with mock_aws(), lean_moto() if lean else contextlib.nullcontext():
        env = build(cells(max_users=users * 10))
        for i in range(users):
            seed_user(env, f"r{i:05d}", US, "eu", docs=3, objects=1, rows=2)
        homes = list(env.world.directory.scan_homes("user#"))
        start = time.perf_counter()
        chosen = rebalance_slice(homes, US, "eu", 100)
        for user in chosen:
            Mover(env.world).run(plan_user(env.world, user, EU))
        elapsed = time.perf_counter() - start
        assert env.world.directory.count(EU)["users"] == users
        return {
            "users": len(chosen),
            "total_s": round(elapsed, 2),
            "users_per_s": round(len(chosen) / elapsed, 1),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="single-user moves to run (median reported)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    runs = [one_user(args.documents, args.objects) for _ in range(args.runs)]
    single = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"move 1 user ({args.documents} documents, {args.objects} objects, {single['rows']:.0f} rows), median of "
        f"{args.runs}: total {single['total_s']:.2f} s (pre-copy while writes flow {single['precopy_s']:.2f} s), "
        f"frozen-write window {single['frozen_window_s']:.2f} s (delta copy {single['copy_s']:.2f} s, verify {single['verify_s']:.2f} s, flip {single['flip_s']:.2f} s); "
        f"goal < {WINDOW_GOAL_S} s"
    )
    bulk = rebalance(args.users)
    print(f"rebalance {bulk['users']} users: {bulk['total_s']:.1f} s, {bulk['users_per_s']:.1f} users/s")
    result = {
        "python": platform.python_version(),
        "single_user": single,
        "single_user_runs": runs,
        "rebalance": bulk,
        "window_goal_met": single["frozen_window_s"] < WINDOW_GOAL_S,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["window_goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
