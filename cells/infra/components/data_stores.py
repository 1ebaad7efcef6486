"""The cell's data stores on GCP: a Firestore database per physical shard, BigQuery for time series.

Locations come from the residency table only: an EU cell never gets a US location. Every store is
encrypted with a customer-managed Cloud KMS key of the zone (the cell's, or a dedicated tenant's).
Every store is
protected in Pulumi and at the cloud (Firestore delete protection, BigQuery table deletion
protection, ABANDON deletion policies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from cells.core.config.cell import CellSpec
from cells.core.naming import TAG_TENANT, gcp_labels
from cells.core.regions import kms_location_for
from cells.infra.components.protection import kept

DAY_MS = 86_400_000

# Columns shared by both time-series tables; clustering follows the shard key path.
_COMMON = [
    {"name": "tenant_id", "type": "STRING", "mode": "NULLABLE", "description": "Enterprise tenant, if any"},
    {"name": "shard", "type": "INT64", "mode": "REQUIRED", "description": "Logical shard of the user"},
    {"name": "user_id", "type": "STRING", "mode": "REQUIRED"},
]
SCHEMAS = {
    "events": [
        {"name": "occurred_at", "type": "TIMESTAMP", "mode": "REQUIRED"},
        *_COMMON,
        {"name": "event_type", "type": "STRING", "mode": "REQUIRED"},
        {"name": "payload", "type": "JSON", "mode": "NULLABLE"},
    ],
    "valuation_logs": [
        {"name": "recorded_at", "type": "TIMESTAMP", "mode": "REQUIRED"},
        *_COMMON,
        {"name": "item_id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "value_minor", "type": "INT64", "mode": "REQUIRED"},
        {"name": "currency", "type": "STRING", "mode": "REQUIRED"},
        {"name": "source", "type": "STRING", "mode": "NULLABLE"},
    ],
}
PARTITION_FIELD = {"events": "occurred_at", "valuation_logs": "recorded_at"}
CLUSTERING = ["tenant_id", "shard", "user_id"]
SERVICE_AGENTS = {
    "firestore": "service-{number}@gcp-sa-firestore.iam.gserviceaccount.com",
    "bigquery": "bq-{number}@bigquery-encryption.iam.gserviceaccount.com",
}


@dataclass(frozen=True)
class DataStoresArgs:
    spec: CellSpec
    project: str


def dataset_id(cell: str, tenant: str | None = None) -> str:
    base = "myark_" + cell.replace("-", "_")
    return f"{base}_tenant_{tenant.replace('-', '_')}" if tenant else base


class DataStores(pulumi.ComponentResource):
    def __init__(self, name: str, args: DataStoresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:data:DataStores", name, None, opts)
        spec = args.spec
        facts = spec.facts
        keep = kept(self)
        self.databases: dict[str, gcp.firestore.Database] = {}
        self.datasets: dict[str, gcp.bigquery.Dataset] = {}
        tenant_of_shard = {t.physical: tid for tid, t in spec.shards.tenants.items()}
        # Customer-managed keys, one per store and owner: the cell's own, and a dedicated tenant's.
        stores = (("firestore", facts.firestore_location), ("bigquery", facts.bigquery_location))
        owners = [""] + [tid for tid, t in spec.shards.tenants.items() if t.dedicated_kms_key]
        self.keys = {
            owner: {
                store: self._key(name, owner, store, kms_location_for(loc), args.project)
                for store, loc in stores
            }
            for owner in owners
        }
        for physical in spec.shards.all_physical():
            owner = tenant_of_shard.get(physical, "")
            key = self.keys.get(owner, self.keys[""])["firestore"]
            self.databases[physical] = gcp.firestore.Database(
                f"{name}-{physical}",
                project=args.project,
                name=physical,
                location_id=facts.firestore_location,
                type="FIRESTORE_NATIVE",
                concurrency_mode="OPTIMISTIC",
                app_engine_integration_mode="DISABLED",
                point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_ENABLED",
                delete_protection_state="DELETE_PROTECTION_ENABLED",
                deletion_policy="ABANDON",
                cmek_config={"kms_key_name": key.id},
                opts=keep,
            )
        self.datasets[""] = self._dataset(name, spec, args.project, None, self.keys[""]["bigquery"])
        for tid in spec.shards.tenants:
            key = self.keys.get(tid, self.keys[""])["bigquery"]
            self.datasets[tid] = self._dataset(f"{name}-tenant-{tid}", spec, args.project, tid, key)
        self.register_outputs(
            {
                "firestore_databases": sorted(self.databases),
                "bigquery_datasets": [d.dataset_id for d in self.datasets.values()],
            }
        )

    def _key(self, name: str, tenant: str, store: str, location: str, project: str) -> gcp.kms.CryptoKey:
        keep = kept(self)
        logical = f"{name}-tenant-{tenant}-{store}" if tenant else f"{name}-{store}"
        ring = gcp.kms.KeyRing(
            f"{logical}-ring",
            project=project,
            location=location,
            name=f"myark-{tenant or name}-{store}",
            opts=keep,
        )
        key = gcp.kms.CryptoKey(
            f"{logical}-key",
            key_ring=ring.id,
            name=f"{tenant or name}-{store}",
            rotation_period="7776000s",  # 90 days
            labels=gcp_labels({TAG_TENANT: tenant}) if tenant else {},
            opts=keep,
        )
        # The store's own service agent encrypts with the key; nobody else is granted it.
        number = gcp.organizations.get_project_output(
            project_id=project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        agent = SERVICE_AGENTS[store]
        gcp.kms.CryptoKeyIAMMember(
            f"{logical}-agent",
            crypto_key_id=key.id,
            role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=number.apply(lambda n: f"serviceAccount:{agent.format(number=n)}"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key

    def _dataset(
        self, name: str, spec: CellSpec, project: str, tenant: str | None, key: gcp.kms.CryptoKey
    ) -> gcp.bigquery.Dataset:
        keep = kept(self)
        labels = gcp_labels({TAG_TENANT: tenant}) if tenant else {}
        encryption: Any = {"kms_key_name": key.id}
        dataset = gcp.bigquery.Dataset(
            f"{name}-analytics",
            project=project,
            dataset_id=dataset_id(spec.name, tenant),
            location=spec.facts.bigquery_location,
            description=f"MyARK {spec.name} time series" + (f" of tenant {tenant}" if tenant else ""),
            delete_contents_on_destroy=False,
            default_encryption_configuration=encryption,
            max_time_travel_hours="168",
            labels=labels,
            opts=keep,
        )
        retention = {
            "events": spec.analytics.events_retention_days,
            "valuation_logs": spec.analytics.valuation_logs_retention_days,
        }
        for table, schema in SCHEMAS.items():
            gcp.bigquery.Table(
                f"{name}-{table.replace('_', '-')}",
                project=project,
                dataset_id=dataset.dataset_id,
                table_id=table,
                schema=pulumi.Output.json_dumps(schema),
                time_partitioning={
                    "type": "DAY",
                    "field": PARTITION_FIELD[table],
                    "expiration_ms": retention[table] * DAY_MS,
                },
                require_partition_filter=True,
                clusterings=CLUSTERING,
                deletion_protection=True,
                encryption_configuration=encryption,
                labels=labels,
                opts=keep,
            )
        return dataset
