"""A world for moves: moto (DynamoDB directory, S3 documents buckets, Cognito), fake-firestore per shard
database, an in-memory BigQuery per cell, a dict for the edge's KV; and helpers to seed and inspect it.

fake-firestore (not mock-firestore): it is the maintained fork, and it tracks which documents were
written, so `list_documents` and `collections` behave as the real client's do (a document with only
subcollections is listed, an empty path is not), and it has `batch()` and `transaction()`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fake_firestore import FakeFirestoreClient, transactional
from moto import mock_aws  # noqa: F401  (moto must hook botocore before ops_support opens its session)
from ops_support import SESSION

from cells.core.config.stack_files import PROJECT_ROOT
from cells.core.fleet import load_fleet
from cells.ops.aws import Aws
from cells.ops.move_api import Api, CellInfo, cell_infos
from cells.ops.move_plan import row_hash
from cells.ops.move_stores import (
    HOME_CELL,
    HOME_ZONE,
    TABLES,
    Identity,
    InMemoryBigQuery,
    MoveDirectory,
    ObjectStore,
    dataset_id,
)
from cells.ops.move_world import World

GLOBAL_REGION = "us-east-1"
TABLE = "myark-cell-directory"
US, EU = "us-east-1", "eu-central-1"


class Crash(BaseException):
    """A process dying at a point: not an Exception, so the mover's orderly-failure path does not run."""


class FakeKV:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def put(self, key: str, value: str) -> None:
        self.data[key] = value


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Faults:
    """Raise Crash at the `nth` time `point` is reached; run `hook` at every point (e.g. an API write)."""

    point: str | None = None
    nth: int = 1
    seen: Counter = field(default_factory=Counter)
    hook: Callable[[str], None] | None = None

    def __call__(self, point: str) -> None:
        self.seen[point] += 1
        if self.hook:
            self.hook(point)
        if point == self.point and self.seen[point] == self.nth:
            raise Crash(point)


@dataclass
class Env:
    world: World
    aws: Aws
    stores: dict[tuple[str, str], FakeFirestoreClient]
    bigquery: dict[str, InMemoryBigQuery]
    kv: FakeKV
    clock: Clock
    faults: Faults
    pool: str


def cells(extra: dict[str, CellInfo] | None = None, max_users: int | None = None) -> dict[str, CellInfo]:
    out = cell_infos(load_fleet(PROJECT_ROOT))
    if max_users is not None:
        out = {
            k: CellInfo(v.name, v.zone, v.region, v.shards, max_users, v.max_tenants) for k, v in out.items()
        }
    out.update(extra or {})
    return out


def build(cell_infos_: dict[str, CellInfo] | None = None) -> Env:
    """Inside mock_aws: the directory table, a documents bucket per cell, the user pool."""
    aws = Aws(SESSION)
    infos = cell_infos_ or cells()
    aws.call(
        "dynamodb",
        GLOBAL_REGION,
        "create_table",
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    buckets: dict[str, ObjectStore] = {}
    for info in infos.values():
        name = f"{info.name}-documents-0a1b2c3"
        params: dict[str, Any] = {"Bucket": name}
        if info.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": info.region}
        aws.call("s3", info.region, "create_bucket", **params)
        aws.call(
            "s3",
            info.region,
            "put_bucket_versioning",
            Bucket=name,
            VersioningConfiguration={"Status": "Enabled"},
        )
        buckets[info.name] = ObjectStore(aws, info.region, name)
    pool = aws.call(
        "cognito-idp",
        GLOBAL_REGION,
        "create_user_pool",
        PoolName="myark-identity-0a1b2c3",
        Schema=[
            {"Name": "home_cell", "AttributeDataType": "String", "Mutable": True},
            {"Name": "home_zone", "AttributeDataType": "String", "Mutable": True},
        ],
    )["UserPool"]["Id"]
    stores: dict[tuple[str, str], FakeFirestoreClient] = {}

    def firestore(cell: str, database: str) -> FakeFirestoreClient:
        return stores.setdefault((cell, database), FakeFirestoreClient())

    bigquery = {name: InMemoryBigQuery() for name in infos}
    kv, clock, faults = FakeKV(), Clock(), Faults()
    world = World(
        directory=MoveDirectory(aws, GLOBAL_REGION, TABLE),
        cells=infos,
        firestore=firestore,
        objects=lambda cell: buckets[cell],
        rows=lambda cell: bigquery[cell],
        identity=Identity(aws, GLOBAL_REGION, pool),
        kv=kv,
        clock=clock,
        fault=faults,
    )
    return Env(world, aws, stores, bigquery, kv, clock, faults, pool)


def seed_user(
    env: Env, user: str, cell: str, zone: str, *, docs: int = 12, objects: int = 5, rows: int = 4
) -> None:
    """A user as placement left them: directory item and counter, Cognito, KV, and data in the home cell."""
    w = env.world
    w.directory.update(f"user#{user}", {"cell": cell, "zone": zone})
    w.directory.update(f"count#{cell}", {"users": w.directory.count(cell)["users"] + 1})
    env.aws.call(
        "cognito-idp",
        GLOBAL_REGION,
        "admin_create_user",
        UserPoolId=env.pool,
        Username=user,
        UserAttributes=[{"Name": HOME_CELL, "Value": cell}, {"Name": HOME_ZONE, "Value": zone}],
        MessageAction="SUPPRESS",
    )
    env.kv.put(f"user:{user}", cell)
    info = w.cells[cell]
    db = w.firestore(cell, info.shards.lookup(user))
    for i in range(docs):
        coll = "items" if i % 3 else "valuations"
        db.document(f"users/{user}/{coll}/d{i:04d}").set({"n": i, "name": f"item {i}", "tags": ["a", str(i)]})
    store = w.objects(cell)
    for i in range(objects):
        env.aws.call(
            "s3",
            store.region,
            "put_object",
            Bucket=store.bucket,
            Key=f"users/{user}/o{i:03d}",
            Body=f"{user}:{i}" * 20,
        )
    bq = env.bigquery[cell]
    for table in TABLES:
        bq.insert(dataset_id(cell), table, [{"user_id": user, "i": i, "table": table} for i in range(rows)])
    # a same-content duplicate row: multisets, not sets, must move
    bq.insert(dataset_id(cell), "events", [{"user_id": user, "i": 0, "table": "events"}])


@dataclass(frozen=True)
class Snapshot:
    docs: dict[str, Any]
    objects: dict[str, str]
    rows: dict[str, list[str]]


def snapshot(env: Env, user: str, cell: str, database: str | None = None) -> Snapshot:
    from cells.ops.move_stores import FirestoreData

    w = env.world
    db = database or w.cells[cell].shards.lookup(user)
    docs = FirestoreData(w.firestore(cell, db), db).documents(f"user:{user}")
    store = w.objects(cell)
    objects = {}
    for key in store.list(f"users/{user}/"):
        body = env.aws.call("s3", store.region, "get_object", Bucket=store.bucket, Key=key)["Body"].read()
        objects[key] = hashlib.sha256(body).hexdigest()
    rows = {
        t: sorted(row_hash(r) for r in env.bigquery[cell].select(dataset_id(cell), t, "user_id", user))
        for t in TABLES
    }
    return Snapshot(docs, objects, rows)


def homes(env: Env, user: str) -> tuple[Any, Any, Any, Any]:
    """(directory cell, KV cell, Cognito home_cell, Cognito home_zone)."""
    item = env.world.directory.get(f"user#{user}") or {}
    identity = env.world.identity
    assert identity is not None
    cell, zone = identity.home(user)
    return item.get("cell"), env.kv.get(f"user:{user}"), cell, zone


def api(env: Env) -> Api:
    return Api(env.world.directory, env.world.firestore, env.world.cells, transactional)


def assert_converged(env: Env, user: str, before, target: str, zone: str) -> None:
    """Exactly once in the target, source untouched, every home agrees, nothing frozen."""
    after_target = snapshot(env, user, target)
    assert after_target == before, "the target holds exactly the source's documents, objects and rows"
    source = env.world.directory.get(f"move#user#{user}")
    assert source is not None and source["state"] == "done"
    assert snapshot(env, user, source["source"]) == before, "the source is untouched until cleanup"
    assert homes(env, user) == (target, target, target, zone)
    assert "frozen" not in (env.world.directory.get(f"user#{user}") or {})
    src_db = env.world.firestore(source["source"], source["sourceDatabase"])
    fence = src_db.collection("_moves").document(f"user-{user}").get().to_dict() or {}
    assert (fence.get("state"), fence.get("to")) == ("moved", target), (
        "stale writers at the source are sent on"
    )
    dst_db = env.world.firestore(target, source["targetDatabase"])
    assert not dst_db.collection("_moves").document(f"user-{user}").get().exists, "the target takes writes"
