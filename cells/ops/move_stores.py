"""The stores a move reads and writes, each behind the interface its real client has.

- `MoveDirectory`: the control plane's DynamoDB directory (`myark-cell-directory`): user homes
  (`user#<id>`), tenant homes (`tenant#<id>`), shard overrides (`shard#<cell>#<logical>`), per-cell
  counters (`count#<cell>`) and the move journal (`move#<kind>#<id>`). Every write is conditional.
- `FirestoreData`: a subject's documents in one Firestore database, through the
  `google.cloud.firestore.Client` interface (collections, list_documents, batch, transaction).
- `ObjectStore`: the documents bucket (S3) of a cell.
- `Rows`: BigQuery rows, behind an injectable client (`InMemoryBigQuery` in tests and benchmarks).
- `Identity`: Cognito's `custom:home_cell` and `custom:home_zone`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cells.ops.aws import Aws, AwsError
from cells.ops.move_plan import MoveRefused, row_hash

FENCES = "_moves"  # the collection of freeze fences, in every shard database
BATCH = 400  # Firestore allows 500 writes per batch
TABLES = ("events", "valuation_logs")
HOME_CELL = "custom:home_cell"
HOME_ZONE = "custom:home_zone"
METRIC_NAMESPACE = "MyARK/Cells"
METRIC_NAME = "Utilization"


def dataset_id(cell: str, tenant: str | None = None) -> str:
    """The cell's (or a dedicated tenant's) BigQuery dataset: the name `cells.infra.components.data_stores` gives it.

    Repeated here because importing the component costs seconds of SDK import; a test keeps them equal.
    """
    base = "myark_" + cell.replace("-", "_")
    return f"{base}_tenant_{tenant.replace('-', '_')}" if tenant else base


class RetryableWrite(Exception):
    """The API's answer to a write while the subject is frozen or has moved: retry (re-route) later."""

    def __init__(self, message: str, retry_after: int = 5, moved_to: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.moved_to = moved_to


class Conflict(Exception):
    """A conditional write lost: someone else changed the item first."""


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


def decode(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A DynamoDB item as plain values (S, N, BOOL, M)."""
    if item is None:
        return None

    def one(v: Mapping[str, Any]) -> Any:
        (kind, raw), *_ = v.items()
        if kind == "N":
            return int(raw) if raw.lstrip("-").isdigit() else float(raw)
        if kind == "M":
            return {k: one(x) for k, x in raw.items()}
        if kind == "L":
            return [one(x) for x in raw]
        if kind == "NULL":
            return None
        return raw

    return {k: one(v) for k, v in item.items()}


def encode(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return _n(value)
    if isinstance(value, Mapping):
        return {"M": {k: encode(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [encode(v) for v in value]}
    if value is None:
        return {"NULL": True}
    return _s(str(value))


class MoveDirectory:
    """The directory table, read with strong consistency and written conditionally."""

    def __init__(self, aws: Aws, region: str, table: str) -> None:
        self.aws, self.region, self.table = aws, region, table

    def _call(self, op: str, **params: Any) -> dict[str, Any]:
        return self.aws.call("dynamodb", self.region, op, **params)

    def get(self, pk: str) -> dict[str, Any] | None:
        item = self._call("get_item", TableName=self.table, Key={"pk": _s(pk)}, ConsistentRead=True)
        return decode(item.get("Item"))

    def update(
        self,
        pk: str,
        sets: Mapping[str, Any],
        *,
        removes: Sequence[str] = (),
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        names = {f"#a{i}": k for i, k in enumerate(sets)}
        vals = {f":a{i}": encode(v) for i, v in enumerate(sets.values())}
        expr = "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(sets))) if sets else ""
        if removes:
            names.update({f"#r{i}": k for i, k in enumerate(removes)})
            expr += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        params: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": _s(pk)},
            "UpdateExpression": expr.strip(),
            "ExpressionAttributeNames": names,
        }
        vals.update({k: encode(v) for k, v in (values or {}).items()})
        if vals:
            params["ExpressionAttributeValues"] = vals
        if condition:
            params["ConditionExpression"] = condition
            for word in ("state", "owner", "cell", "frozen", "leaseUntil", "users", "tenants", "moveId"):
                if f"#{word}" in condition:
                    names[f"#{word}"] = word
        try:
            self._call("update_item", **params)
        except AwsError as exc:
            if exc.code == "ConditionalCheckFailedException":
                raise Conflict(pk) from None
            raise

    def transact(self, updates: Sequence[dict[str, Any]]) -> None:
        try:
            self._call("transact_write_items", TransactItems=[{"Update": u} for u in updates])
        except AwsError as exc:
            if exc.code == "TransactionCanceledException":
                raise Conflict(str(exc)) from None
            raise

    def scan_homes(self, prefix: str = "user#") -> Iterator[dict[str, Any]]:
        for page in self.aws.pages(
            "dynamodb",
            self.region,
            "scan",
            TableName=self.table,
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": _s(prefix)},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                home = decode(item)
                if home is not None:
                    home["user"] = home["pk"].split("#", 1)[1]
                    yield home

    def count(self, cell: str) -> dict[str, int]:
        item = self.get(f"count#{cell}") or {}
        return {"users": int(item.get("users", 0)), "tenants": int(item.get("tenants", 0))}

    def flip_home(
        self, pk: str, counter: str, source: str, target: str, zone: str, move_id: str, maximum: int
    ) -> None:
        """Home -> target and the counters, in one transaction; refused if the target is full."""
        self.transact(
            [
                {
                    "TableName": self.table,
                    "Key": {"pk": _s(pk)},
                    "UpdateExpression": "SET #cell = :target, #zone = :zone, movedBy = :m",
                    "ConditionExpression": "#cell = :source",
                    "ExpressionAttributeNames": {"#cell": "cell", "#zone": "zone"},
                    "ExpressionAttributeValues": {
                        ":target": _s(target),
                        ":source": _s(source),
                        ":zone": _s(zone),
                        ":m": _s(move_id),
                    },
                },
                {
                    "TableName": self.table,
                    "Key": {"pk": _s(f"count#{source}")},
                    "UpdateExpression": "ADD #c :minus",
                    "ExpressionAttributeNames": {"#c": counter},
                    "ExpressionAttributeValues": {":minus": _n(-1)},
                },
                {
                    "TableName": self.table,
                    "Key": {"pk": _s(f"count#{target}")},
                    "UpdateExpression": "ADD #c :one",
                    "ConditionExpression": "attribute_not_exists(#c) OR #c < :max",
                    "ExpressionAttributeNames": {"#c": counter},
                    "ExpressionAttributeValues": {":one": _n(1), ":max": _n(maximum)},
                },
            ]
        )


# ---- Firestore ------------------------------------------------------------------------------------


class FirestoreData:
    """One shard database, through the `google.cloud.firestore.Client` interface.

    A user's documents are every document under `users/<id>` (its subcollections, recursively); a
    dedicated tenant's are every document of its database. Freeze fences live in `_moves/<name>`.
    """

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def _walk(self, ref: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        for collection in ref.collections():
            if collection.id == FENCES:
                continue
            for doc in collection.list_documents():
                snap = doc.get()
                if snap.exists:
                    yield doc.path, snap.to_dict() or {}
                yield from self._walk(doc)

    def documents(self, scope: str) -> dict[str, dict[str, Any]]:
        """`user:<id>` (the documents under users/<id>) or `all` (a tenant's database)."""
        if scope == "all":
            return dict(self._walk(self.client))
        user = scope.split(":", 1)[1]
        root = self.client.collection("users").document(user)
        out = dict(self._walk(root))
        snap = root.get()
        if snap.exists:
            out[root.path] = snap.to_dict() or {}
        return out

    def users(self) -> list[str]:
        return sorted(d.id for d in self.client.collection("users").list_documents())

    def write(self, docs: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """One batch (at most BATCH documents): set, so that a re-run rewrites, never duplicates."""
        batch = self.client.batch()
        for path, data in docs:
            batch.set(self.client.document(path), dict(data))
        batch.commit()

    def delete(self, paths: Sequence[str]) -> None:
        for start in range(0, len(paths), BATCH):
            batch = self.client.batch()
            for path in paths[start : start + BATCH]:
                batch.delete(self.client.document(path))
            batch.commit()

    def fence(self, name: str) -> dict[str, Any] | None:
        snap = self.client.collection(FENCES).document(name).get()
        return snap.to_dict() if snap.exists else None

    def set_fence(self, name: str, data: Mapping[str, Any]) -> None:
        self.client.collection(FENCES).document(name).set(dict(data))

    def clear_fence(self, name: str) -> None:
        self.client.collection(FENCES).document(name).delete()


# ---- S3 -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectStore:
    """A cell's documents bucket. A user's objects live under `users/<id>/`, a tenant's under `tenants/<id>/`."""

    aws: Aws
    region: str
    bucket: str

    def list(self, prefix: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for page in self.aws.pages("s3", self.region, "list_objects_v2", Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = int(obj["Size"])
        return out

    def latest(self, prefix: str) -> dict[str, tuple[str, int]]:
        """key -> (current version id, size); deleted keys (a delete marker on top) are absent."""
        out: dict[str, tuple[str, int]] = {}
        for page in self.aws.pages(
            "s3", self.region, "list_object_versions", Bucket=self.bucket, Prefix=prefix
        ):
            for v in page.get("Versions", []):
                if v.get("IsLatest"):
                    out[v["Key"]] = (str(v.get("VersionId") or "null"), int(v["Size"]))
        return out

    def sha256(self, key: str, version: str | None = None) -> str:
        extra = {"VersionId": version} if version and version != "null" else {}
        body = self.aws.call("s3", self.region, "get_object", Bucket=self.bucket, Key=key, **extra)[
            "Body"
        ].read()
        return hashlib.sha256(body).hexdigest()

    def delete(self, key: str) -> None:
        self.aws.call("s3", self.region, "delete_object", Bucket=self.bucket, Key=key)

    def copy_from(self, source: ObjectStore, key: str) -> str:
        """Server-side copy into this bucket (its default KMS encryption applies); re-running overwrites.

        Returns the new object's version id.
        """
        got = self.aws.call(
            "s3",
            self.region,
            "copy_object",
            Bucket=self.bucket,
            Key=key,
            CopySource={"Bucket": source.bucket, "Key": key},
            MetadataDirective="COPY",
        )
        return str(got.get("VersionId") or "null")

    def delete_all_versions(self, prefix: str) -> int:
        """Cleanup: every version and delete marker under `prefix` (a versioned bucket keeps old ones)."""
        deleted = 0
        for page in self.aws.pages(
            "s3", self.region, "list_object_versions", Bucket=self.bucket, Prefix=prefix
        ):
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                self.aws.call(
                    "s3",
                    self.region,
                    "delete_object",
                    Bucket=self.bucket,
                    Key=v["Key"],
                    VersionId=v["VersionId"],
                )
                deleted += 1
        return deleted


# ---- BigQuery -------------------------------------------------------------------------------------


class Rows(Protocol):
    """What the mover needs of BigQuery; the real one wraps `google.cloud.bigquery.Client`."""

    def select(self, dataset: str, table: str, column: str | None, value: str | None) -> list[dict]: ...

    def insert(self, dataset: str, table: str, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def delete(self, dataset: str, table: str, column: str | None, value: str | None) -> int: ...


@dataclass
class InMemoryBigQuery:
    """Tables as lists of rows (a multiset: a duplicated row shows)."""

    tables: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    inserts: int = 0

    def select(self, dataset: str, table: str, column: str | None, value: str | None) -> list[dict]:
        rows = self.tables.get((dataset, table), [])
        return [dict(r) for r in rows if column is None or r.get(column) == value]

    def insert(self, dataset: str, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        self.inserts += 1
        self.tables.setdefault((dataset, table), []).extend(dict(r) for r in rows)

    def delete(self, dataset: str, table: str, column: str | None, value: str | None) -> int:
        rows = self.tables.get((dataset, table), [])
        keep = [r for r in rows if not (column is None or r.get(column) == value)]
        self.tables[(dataset, table)] = keep
        return len(rows) - len(keep)


def missing_rows(source: Sequence[Mapping[str, Any]], target: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The source rows the target lacks, counting duplicates: inserting them makes the multisets equal."""
    have: dict[str, int] = {}
    for r in target:
        h = row_hash(r)
        have[h] = have.get(h, 0) + 1
    out = []
    for r in source:
        h = row_hash(r)
        if have.get(h, 0) > 0:
            have[h] -= 1
        else:
            out.append(dict(r))
    return out


# ---- Cognito, KV, metrics -------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The user pool: `custom:home_cell` (the edge's routing claim) and `custom:home_zone`."""

    aws: Aws
    region: str
    user_pool_id: str

    def home(self, user: str) -> tuple[str | None, str | None]:
        try:
            got = self.aws.call(
                "cognito-idp", self.region, "admin_get_user", UserPoolId=self.user_pool_id, Username=user
            )
        except AwsError as exc:
            if exc.code == "UserNotFoundException":
                return None, None
            raise
        attrs = {a["Name"]: a["Value"] for a in got.get("UserAttributes", [])}
        return attrs.get(HOME_CELL), attrs.get(HOME_ZONE)

    def set_home(self, user: str, cell: str, zone: str) -> None:
        self.aws.call(
            "cognito-idp",
            self.region,
            "admin_update_user_attributes",
            UserPoolId=self.user_pool_id,
            Username=user,
            UserAttributes=[{"Name": HOME_CELL, "Value": cell}, {"Name": HOME_ZONE, "Value": zone}],
        )


class KeyValue(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


def publish_utilization(aws: Aws, cell: str, region: str, percent: float) -> None:
    """The per-cell utilization metric the capacity alarm watches (in the cell's own region)."""
    aws.call(
        "cloudwatch",
        region,
        "put_metric_data",
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {
                "MetricName": METRIC_NAME,
                "Dimensions": [{"Name": "Cell", "Value": cell}],
                "Value": percent,
                "Unit": "Percent",
            }
        ],
    )


FirestoreFactory = Callable[[str, str], Any]  # (cell, database) -> a google.cloud.firestore.Client


def refuse_if(condition: bool, message: str) -> None:
    if condition:
        raise MoveRefused(message)
