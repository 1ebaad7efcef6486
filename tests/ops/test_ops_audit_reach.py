"""What the residency audit finds beyond the tagging API: untagged resources named for the cell in any
region, backup plans and vaults where the cell has nothing else, copies that leave the zone, the GCP
project (Cloud Asset Inventory), an empty account (exit 3), and a --json file that cannot be written."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from ops_support import client, fail_on, run
from test_ops_audit import ACCOUNT, CELL, SCAN, TAGS, backup_plan, bucket

from cells.ops.audit.findings import copy_findings
from cells.ops.audit.gcp import GcpError, search_all_resources
from cells.ops.audit.model import CopyFacts
from cells.ops.audit.sweep import named_for
from cells.ops.edge import HttpRequest, HttpResponse

RECORDED = Path(__file__).parent / "data" / "cloudasset"
AUDIT = ["audit", "residency", CELL, "--regions", SCAN]


def findings_of(path: Path) -> set[tuple[str, str, str]]:
    return {(f["kind"], f["arn"], f["region"]) for f in json.loads(path.read_text())}


def test_an_untagged_bucket_named_for_the_cell_in_another_region_is_found(
    fleet_copy: Path, moto_account: None, tmp_path: Path, capsys
) -> None:
    bucket(f"{CELL}-documents", CELL)
    bucket(f"myark-{CELL}-exports", "us-east-1", tags=[{"Key": "team", "Value": "data"}])
    bucket(f"{CELL}0-unrelated", "us-east-1", tags=[{"Key": "team", "Value": "data"}])  # not the cell's name
    report = tmp_path / "a.json"
    assert run([*AUDIT, "--skip-gcp", "--json", str(report)], fleet_copy) == 1
    arn = f"arn:aws:s3:::myark-{CELL}-exports"
    assert findings_of(report) == {("outside-zone", arn, "us-east-1"), ("untagged", arn, "us-east-1")}
    assert (
        "named for it (2 S3 buckets, 0 DynamoDB tables, 0 backup plans; 1 untagged)"
        in capsys.readouterr().out
    )


def test_backup_plans_and_vaults_are_searched_in_every_region(
    fleet_copy: Path, moto_account: None, tmp_path: Path
) -> None:
    bucket(f"{CELL}-documents", CELL)
    plan = backup_plan("us-east-1", copy_to="eu-west-1")  # tagged, where the cell has nothing else
    vault = client("backup", region_name="us-east-1").create_backup_vault(BackupVaultName=f"{CELL}-copies")[
        "BackupVaultArn"
    ]
    table_arn = client("dynamodb", region_name="us-east-1").create_table(
        TableName=f"{CELL}-sessions-copy",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    report = tmp_path / "a.json"
    assert run([*AUDIT, "--skip-gcp", "--json", str(report)], fleet_copy) == 1
    got = findings_of(report)
    assert ("outside-zone", plan, "us-east-1") in got
    assert {("outside-zone", vault, "us-east-1"), ("untagged", vault, "us-east-1")} <= got
    assert {("untagged", table_arn, "us-east-1"), ("table-pitr-off", table_arn, "us-east-1")} <= got


def test_copies_that_leave_the_zone_are_findings(
    fleet_copy: Path, moto_account: None, tmp_path: Path, monkeypatch
) -> None:
    """ECR replication and the log group run on moto; an EFS replication, an RDS cross-region replica and
    a Logs subscription are answered at the boto3 level (moto lacks EFS replication; the others need
    Kinesis or a second RDS region set up only to be read back)."""
    bucket(f"{CELL}-documents", CELL)
    ecr = client("ecr", region_name=CELL)
    repo = ecr.create_repository(repositoryName=f"{CELL}/api", tags=TAGS)["repository"]["repositoryArn"]
    ecr.put_replication_configuration(
        replicationConfiguration={
            "rules": [{"destinations": [{"region": "us-east-1", "registryId": ACCOUNT}]}]
        }
    )
    logs = client("logs", region_name=CELL)
    logs.create_log_group(logGroupName=f"/myark/{CELL}/api", tags={t["Key"]: t["Value"] for t in TAGS})
    group = f"arn:aws:logs:{CELL}:{ACCOUNT}:log-group:/myark/{CELL}/api"
    sink = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/central-logs"
    fail_on(
        monkeypatch,
        "DescribeSubscriptionFilters",
        None,
        {
            "subscriptionFilters": [
                {"filterName": "all", "logGroupName": f"/myark/{CELL}/api", "destinationArn": sink}
            ]
        },
    )
    db = f"arn:aws:rds:{CELL}:{ACCOUNT}:db:{CELL}-ledger"
    replica = f"arn:aws:rds:us-west-2:{ACCOUNT}:db:{CELL}-ledger-dr"
    fail_on(
        monkeypatch,
        "DescribeDBInstances",
        None,
        {
            "DBInstances": [
                {
                    "DBInstanceIdentifier": f"{CELL}-ledger",
                    "DBInstanceArn": db,
                    "ReadReplicaDBInstanceIdentifiers": [replica],
                    "DBInstanceAutomatedBackupsReplications": [
                        {"DBInstanceAutomatedBackupsArn": f"arn:aws:rds:eu-west-1:{ACCOUNT}:auto-backup:ab-1"}
                    ],
                }
            ]
        },
    )
    efs = client("efs", region_name=CELL)
    fs = efs.create_file_system(CreationToken="t", Tags=[{"Key": "Name", "Value": f"{CELL}-uploads"}, *TAGS])
    fail_on(
        monkeypatch,
        "DescribeReplicationConfigurations",
        None,
        {
            "Replications": [
                {
                    "SourceFileSystemId": fs["FileSystemId"],
                    "Destinations": [{"Region": "us-east-2", "FileSystemId": "fs-0dr"}],
                }
            ]
        },
    )
    report = tmp_path / "a.json"
    assert run([*AUDIT, "--skip-gcp", "--json", str(report)], fleet_copy) == 1
    copies = {
        (f["arn"], f["detail"].split(" in ")[0])
        for f in json.loads(report.read_text())
        if f["kind"] == "copy-outside-zone"
    }
    assert copies == {
        (repo, f"ECR registry replication to registry {ACCOUNT}"),
        (group, f"CloudWatch Logs subscription to {sink}"),
        (db, f"RDS read replica to {replica}"),
        (fs["FileSystemArn"], "EFS replication to fs-0dr"),
    }  # the automated backups replicate to eu-west-1: inside the zone, no finding


def test_an_account_without_the_cell_exits_3(fleet_copy: Path, moto_account: None, capsys) -> None:
    bucket("us-east-1-documents", "us-east-1", tags=[{"Key": "myark:cell", "Value": "us-east-1"}])
    assert run([*AUDIT, "--skip-gcp"], fleet_copy) == 3
    out = capsys.readouterr().out
    assert f"Nothing of cell {CELL} found in this account" in out
    assert "Clean" not in out and "this is not a clean audit" in out
    assert (
        run([*AUDIT, "--skip-gcp", "--json", "-"], fleet_copy) == 3
    )  # JSON on stdout, the message on stderr
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and f"Nothing of cell {CELL} found" in captured.err


def test_an_unwritable_json_file_keeps_the_findings_exit_code(
    fleet_copy: Path, moto_account: None, tmp_path: Path, capsys
) -> None:
    bucket(f"{CELL}-stray", "us-east-1")
    missing_dir = tmp_path / "no-such-dir" / "a.json"
    assert run([*AUDIT, "--skip-gcp", "--json", str(missing_dir)], fleet_copy) == 1
    captured = capsys.readouterr()
    assert "outside-zone" in captured.out and "1 finding." in captured.out
    assert f"--json {missing_dir}: cannot write the file" in captured.err


def test_a_clean_audit_whose_file_cannot_be_written_is_not_clean(
    fleet_copy: Path, moto_account: None, tmp_path: Path, capsys
) -> None:
    bucket(f"{CELL}-documents", CELL)
    assert run([*AUDIT, "--skip-gcp", "--json", str(tmp_path / "no" / "a.json")], fleet_copy) == 1
    assert "Clean: no findings." in capsys.readouterr().out


# ---- GCP: Cloud Asset Inventory, recorded responses ------------------------------------------------


class Recorded:
    """searchAllResources, answered from files written in the API's documented response shape."""

    def __init__(self, *pages: str, status: int = 200) -> None:
        self.pages = [(RECORDED / p).read_bytes() for p in pages]
        self.status = status
        self.requests: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return HttpResponse(self.status, self.pages[len(self.requests) - 1])


def test_search_all_resources_follows_pages() -> None:
    api = Recorded("page1.json", "page2.json")
    assets = search_all_resources("myark-eu-central-1", "tok", api)
    assert [a.location for a in assets] == ["eur3", "europe-west3", "global", "us", "global"]
    first, second = (urlparse(r.url) for r in api.requests)
    assert first.path == "/v1/projects/myark-eu-central-1:searchAllResources"
    assert "pageToken" not in parse_qs(first.query) and parse_qs(second.query)["pageToken"] == ["CgZwYWdlLTI"]
    assert all(r.headers["Authorization"] == "Bearer tok" for r in api.requests)


def test_a_refused_search_says_what_to_grant() -> None:
    with pytest.raises(
        GcpError, match=r"HTTP 403: The caller does not have permission\); grant roles/cloudasset.viewer"
    ):
        search_all_resources("myark-eu-central-1", "tok", Recorded("denied.json", status=403))


def test_gcp_assets_outside_the_zone_are_findings(
    fleet_copy: Path, moto_account: None, tmp_path: Path, monkeypatch, capsys
) -> None:
    bucket(f"{CELL}-documents", CELL)
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "tok")
    report = tmp_path / "a.json"
    api = Recorded("page1.json", "page2.json")
    assert run([*AUDIT, "--json", str(report)], fleet_copy, gcp_transport=api) == 1
    assert findings_of(report) == {
        ("gcp-outside-zone", "//storage.googleapis.com/myark-eu-central-1-exports", "us")
    }
    assert "GCP project myark-eu-central-1: 5 assets" in capsys.readouterr().out


def test_without_a_token_the_gcp_side_is_a_finding_not_a_pass(
    fleet_copy: Path, moto_account: None, monkeypatch, capsys
) -> None:
    bucket(f"{CELL}-documents", CELL)
    monkeypatch.delenv("GOOGLE_OAUTH_ACCESS_TOKEN", raising=False)
    assert run(AUDIT, fleet_copy) == 1
    out = capsys.readouterr().out
    assert "gcp-unaudited" in out and "--skip-gcp" in out


def test_a_refused_gcp_search_is_a_finding(fleet_copy: Path, moto_account: None, monkeypatch, capsys) -> None:
    bucket(f"{CELL}-documents", CELL)
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "tok")
    assert run(AUDIT, fleet_copy, gcp_transport=Recorded("denied.json", status=403)) == 1
    assert "gcp-unaudited" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "hit"),
    [
        (f"{CELL}-documents", True),
        (f"myark-{CELL}", True),
        (f"/myark/{CELL}/api", True),
        (f"{CELL.upper()}-X", True),
        (f"{CELL}0-x", False),
        (f"x{CELL}", False),
        ("eu-central", False),
    ],
)
def test_named_for_the_cell_means_the_whole_name(name: str, hit: bool) -> None:
    assert named_for(name, CELL) is hit


def test_copies_inside_the_zone_are_fine() -> None:
    inside = CopyFacts(
        "arn:aws:rds:eu-central-1:1:db:x", "eu-central-1", "RDS read replica", "r", "eu-west-3"
    )
    outside = CopyFacts(
        "arn:aws:rds:eu-central-1:1:db:x", "eu-central-1", "RDS read replica", "r", "us-east-1"
    )
    unknown = CopyFacts("arn:aws:rds:eu-central-1:1:db:x", "eu-central-1", "RDS read replica", "r", "")
    assert copy_findings(inside, "eu") is None
    assert copy_findings(outside, "eu") is not None and copy_findings(unknown, "eu") is not None
