"""The cell's data stores, federation and published shard map, as the offline plan records them."""

from __future__ import annotations

import json

import pytest

from cells.core.config.stack_files import load_stack
from cells.core.regions import REGIONS, location_in_zone

CELLS = ("eu-central-1", "us-east-1")


@pytest.mark.parametrize("stack", CELLS)
def test_one_firestore_database_per_physical_shard_in_the_cell_location(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    shards = load_stack(stack).cell.shards
    dbs = {r.inputs["name"]: r for r in plan.of_type("gcp:firestore/database:Database")}
    assert sorted(dbs) == sorted(shards.all_physical())
    for db in dbs.values():
        assert db.inputs["locationId"] == REGIONS[stack].firestore_location
        assert db.inputs["pointInTimeRecoveryEnablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"
        assert db.inputs["deleteProtectionState"] == "DELETE_PROTECTION_ENABLED"
        assert db.inputs["deletionPolicy"] == "ABANDON"
        assert db.protect and db.retain_on_delete


@pytest.mark.parametrize("stack", CELLS)
def test_every_gcp_data_location_is_inside_the_cell_zone(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    zone = REGIONS[stack].zone
    assert zone is not None
    located = [r for r in plan.cloud_resources() if r.cloud == "gcp" and r.region is not None]
    assert len(located) >= 4
    for r in located:
        assert location_in_zone(r.region, zone), (r.urn, r.region)


def test_an_eu_cell_never_gets_a_us_location(plan_of) -> None:
    plan = plan_of("eu-central-1")
    text = json.dumps([r.to_json() for r in plan.resources if r.cloud == "gcp"])
    for us_location in ('"US"', '"nam5"', '"us-east4"', '"us-central1"'):
        assert us_location not in text


@pytest.mark.parametrize("stack", CELLS)
def test_bigquery_tables_are_partitioned_by_day_clustered_and_protected(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    spec = load_stack(stack).cell
    tables = plan.of_type("gcp:bigquery/table:Table")
    datasets = plan.of_type("gcp:bigquery/dataset:Dataset")
    assert len(datasets) == 1 + len(spec.shards.tenants)
    assert len(tables) == 2 * len(datasets)
    retention = {
        "events": spec.analytics.events_retention_days,
        "valuation_logs": spec.analytics.valuation_logs_retention_days,
    }
    for t in tables:
        part = t.inputs["timePartitioning"]
        assert part["type"] == "DAY"
        assert part["field"] in ("occurred_at", "recorded_at")
        assert part["expirationMs"] == retention[t.inputs["tableId"]] * 86_400_000
        assert t.inputs["requirePartitionFilter"] is True
        assert t.inputs["clusterings"] == ["tenant_id", "shard", "user_id"]
        assert t.inputs["deletionProtection"] is True
        schema = {c["name"] for c in json.loads(t.inputs["schema"])}
        assert {"tenant_id", "shard", "user_id", part["field"]} <= schema
    for d in datasets:
        assert d.inputs["location"] == REGIONS[stack].bigquery_location
        assert d.inputs["deleteContentsOnDestroy"] is False


def test_a_dedicated_tenant_gets_its_own_database_dataset_labels_and_keys(plan_of) -> None:
    plan = plan_of("us-east-1")
    db = plan.one("gcp:firestore/database:Database", "tenant-acme-insurance")
    assert db.inputs["cmekConfig"]["kmsKeyName"].endswith("/cryptoKeys/acme-insurance-firestore")
    dataset = plan.one("gcp:bigquery/dataset:Dataset", "tenant-acme-insurance-analytics")
    assert dataset.inputs["datasetId"] == "myark_us_east_1_tenant_acme_insurance"
    assert dataset.inputs["labels"]["myark-tenant"] == "acme-insurance"
    assert dataset.inputs["labels"]["myark-cell"] == "us-east-1"
    assert dataset.inputs["defaultEncryptionConfiguration"]["kmsKeyName"].endswith("acme-insurance-bigquery")
    for key in plan.of_type("gcp:kms/cryptoKey:CryptoKey"):
        assert key.region == "us" and key.protect


def test_federation_trusts_only_the_api_task_role_and_no_keys_exist(plan_of) -> None:
    plan = plan_of("eu-central-1")
    provider = plan.one("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").inputs
    assert provider["aws"]["accountId"] == "123456789012"
    assert provider["attributeCondition"].startswith("attribute.aws_role == 'eu-central-1-api-task-role")
    binding = plan.one("gcp:serviceaccount/iAMMember:IAMMember").inputs
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert "/attribute.aws_role/eu-central-1-api-task-role" in binding["member"]
    assert not plan.of_type("gcp:serviceaccount/key:Key")
    roles = {r.inputs["role"] for r in plan.of_type("gcp:projects/iAMMember:IAMMember")}
    assert roles == {"roles/datastore.user", "roles/bigquery.jobUser"}
    task = json.loads(plan.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])[0]
    env = {e["name"]: e["value"] for e in task["environment"]}
    assert env["MYARK_GCP_AUDIENCE"].endswith("/workloadIdentityPools/myark-eu-central-1/providers/aws-tasks")
    assert env["MYARK_GCP_SERVICE_ACCOUNT"] == "api-eu-central-1@myark-eu-central-1.iam.gserviceaccount.com"


@pytest.mark.parametrize("stack", CELLS)
def test_the_shard_map_is_published_encrypted_and_readable_only_by_the_task_role(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    spec = load_stack(stack).cell
    param = plan.one("aws:ssm/parameter:Parameter", "shard-map")
    assert param.inputs["type"] == "SecureString"
    assert param.inputs["keyId"].startswith(f"arn:aws:kms:{stack}:")
    assert param.inputs["value"] == "[secret]"  # SecureString values are secrets in state
    assert param.region == stack
    assert plan.outputs["shardMap"] == spec.shards.to_public_dict()
    readers = [
        r
        for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if param.inputs["name"] in r.inputs["policy"] or "shard-map" in r.name
    ]
    assert sorted(r.name for r in readers) == [f"{stack}-api-shard-map-key", f"{stack}-api-shard-map-read"]
    read, key = (
        json.loads(r.inputs["policy"])["Statement"] for r in sorted(readers, key=lambda r: r.name)[::-1]
    )
    assert [s["Action"] for s in read] == [["ssm:GetParameter"]]
    assert [s["Action"] for s in key] == [["kms:Decrypt"]]
    assert key[0]["Condition"] == {"StringEquals": {"kms:ViaService": [f"ssm.{stack}.amazonaws.com"]}}
    assert readers[0].inputs["role"].startswith(f"{stack}-api-task-role")
