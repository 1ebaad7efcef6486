"""The real world of a move: `real_world` builds the `World` from real clients.

boto3 for the directory (DynamoDB), the documents buckets (S3), Cognito and CloudWatch; the Google
clients (`google-cloud-firestore`, `google-cloud-bigquery`, installed by `uv sync --extra moves`) for
the shard databases and the analytics datasets; Workers KV for a Cloudflare edge.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from cells.core.errors import UsageError
from cells.core.fleet import Fleet
from cells.ops.aws import Aws
from cells.ops.directory import CellDirectory
from cells.ops.edge import CLOUDFLARE_TOKEN_ENV, KV_NAMESPACE_ENV, CloudflareKV
from cells.ops.move_api import cell_infos
from cells.ops.move_plan import MoveFailed
from cells.ops.move_stores import Identity, MoveDirectory, ObjectStore, Rows, publish_utilization
from cells.ops.move_world import World

USER_POOL_ENV = "MYARK_USER_POOL_ID"


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MoveFailed(
            f"{module} is not installed; install the movers' clients with `uv sync --extra moves`"
        ) from None


class BigQueryRows:
    """`Rows` over `google.cloud.bigquery` (parameterised queries; rows streamed in)."""

    def __init__(self, project: str) -> None:
        self.bq = _import("google.cloud.bigquery")
        self.client = self.bq.Client(project=project)
        self.project = project

    def _where(self, column: str | None, value: str | None) -> tuple[str, list[Any]]:
        if column is None:
            return "TRUE", []
        return f"`{column}` = @v", [self.bq.ScalarQueryParameter("v", "STRING", value)]

    def select(self, dataset: str, table: str, column: str | None, value: str | None) -> list[dict]:
        where, params = self._where(column, value)
        job = self.client.query(
            f"SELECT * FROM `{self.project}.{dataset}.{table}` WHERE {where}",
            job_config=self.bq.QueryJobConfig(query_parameters=params),
        )
        return [dict(r.items()) for r in job.result()]

    def insert(self, dataset: str, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        errors = self.client.insert_rows_json(f"{self.project}.{dataset}.{table}", [dict(r) for r in rows])
        if errors:
            raise MoveFailed(f"BigQuery insert into {dataset}.{table} failed: {errors[:3]}")

    def delete(self, dataset: str, table: str, column: str | None, value: str | None) -> int:
        where, params = self._where(column, value)
        job = self.client.query(
            f"DELETE FROM `{self.project}.{dataset}.{table}` WHERE {where}",
            job_config=self.bq.QueryJobConfig(query_parameters=params),
        )
        job.result()
        return int(job.num_dml_affected_rows or 0)


def documents_bucket(aws: Aws, cell: str, region: str) -> str:
    names = [
        b["Name"]
        for b in aws.call("s3", region, "list_buckets").get("Buckets", [])
        if b["Name"].startswith(f"{cell}-documents")
    ]
    if len(names) != 1:
        raise MoveFailed(
            f"expected one documents bucket named {cell}-documents-* for cell {cell}, found "
            f"{', '.join(names) or 'none'}; check the account and that the cell is deployed"
        )
    return names[0]


def user_pool(aws: Aws, region: str, given: str | None) -> str:
    if given or os.environ.get(USER_POOL_ENV):
        return given or os.environ[USER_POOL_ENV]
    pools = [
        p["Id"]
        for page in aws.pages("cognito-idp", region, "list_user_pools", MaxResults=60)
        for p in page.get("UserPools", [])
        if p["Name"].startswith("myark-identity")
    ]
    if len(pools) != 1:
        raise UsageError(
            f"expected one Cognito user pool named myark-identity-* in {region}, found {len(pools)}; "
            f"pass --user-pool-id or set {USER_POOL_ENV}"
        )
    return pools[0]


def real_world(fleet: Fleet, profile: str | None = None, user_pool_id: str | None = None) -> World:
    """The world of a real move: the fleet's directory, Firestore, documents buckets, BigQuery, Cognito and
    edge KV, through the clients of `uv sync --extra moves`."""
    aws = Aws.connect(profile)
    glob = fleet.global_stack
    region = glob.config.global_spec.region
    table = CellDirectory.find(aws, region).table
    projects = {s.cell.name: s.cell.gcp.project for s in fleet.cells}
    regions = {s.cell.name: s.cell.region for s in fleet.cells}
    clients: dict[tuple[str, str], Any] = {}

    def firestore(cell: str, database: str) -> Any:
        if (cell, database) not in clients:
            module = _import("google.cloud.firestore")
            clients[(cell, database)] = module.Client(project=projects[cell], database=database)
        return clients[(cell, database)]

    buckets: dict[str, ObjectStore] = {}

    def objects(cell: str) -> ObjectStore:
        if cell not in buckets:
            buckets[cell] = ObjectStore(aws, regions[cell], documents_bucket(aws, cell, regions[cell]))
        return buckets[cell]

    def rows(cell: str) -> Rows:
        return BigQueryRows(projects[cell])

    kv = None
    if glob.config.edge.provider == "cloudflare":
        namespace, token = os.environ.get(KV_NAMESPACE_ENV), os.environ.get(CLOUDFLARE_TOKEN_ENV)
        if not namespace or not token:
            raise UsageError(
                f"{glob.file}: the edge is cloudflare; set {KV_NAMESPACE_ENV} and {CLOUDFLARE_TOKEN_ENV} so that "
                "moves can write user:<id> and tenant:<id> to the directory KV namespace"
            )
        kv = CloudflareKV(glob.config.edge.cloudflare_account_id or "", namespace, token)
    return World(
        directory=MoveDirectory(aws, region, table),
        cells=cell_infos(fleet),
        firestore=firestore,
        objects=objects,
        rows=rows,
        identity=Identity(aws, region, user_pool(aws, region, user_pool_id)),
        kv=kv,
        publish=lambda cell, cell_region, pct: publish_utilization(aws, cell, cell_region, pct),
        log=print,
    )
