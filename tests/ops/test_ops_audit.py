"""Residency audit of a live cell on moto accounts: what stays in the zone passes, what leaks is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from ops_support import SESSION, client, fail_on, run

from cells.core.regions import REGIONS
from cells.ops.audit.findings import PUBLIC_ACCESS_FLAGS, bucket_findings, placement, table_findings
from cells.ops.audit.model import BucketFacts, Exemption, Finding, ReplicationTarget, TableFacts
from cells.ops.audit.sweep import bucket_region, discover_regions
from cells.ops.aws import Aws

CELL = "eu-central-1"  # the project's eu cell: stack, cell name and region
SCAN = "eu-central-1,eu-west-1,us-east-1"  # moto answers every region; three keep the suite fast
ACCOUNT = "123456789012"
TAGS = [
    {"Key": "myark:cell", "Value": CELL},
    {"Key": "myark:region", "Value": CELL},
    {"Key": "myark:residency", "Value": "eu"},
]


def bucket(
    name: str,
    region: str,
    *,
    tags: list[dict[str, str]] = TAGS,
    encrypted: bool = True,
    blocked: bool = True,
    versioned: bool = True,
) -> None:
    """A bucket as the DocumentStore builds it, unless told to break one rule."""
    s3 = client("s3", region_name=region)
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **location)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
    if encrypted:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})
    if blocked:
        flags = dict.fromkeys(PUBLIC_ACCESS_FLAGS, True)
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=flags)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def replicate(source: str, region: str, destination: str) -> None:
    client("s3", region_name=region).put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={
            "Role": f"arn:aws:iam::{ACCOUNT}:role/replication",
            "Rules": [
                {
                    "ID": "all",
                    "Status": "Enabled",
                    "Priority": 1,
                    "Filter": {},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {"Bucket": f"arn:aws:s3:::{destination}"},
                }
            ],
        },
    )


def table(name: str, region: str, *, pitr: bool = True, protected: bool = True) -> str:
    ddb = client("dynamodb", region_name=region)
    arn = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=protected,
        Tags=TAGS,
    )["TableDescription"]["TableArn"]
    if pitr:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return arn


def backup_plan(region: str, copy_to: str) -> str:
    vault = f"arn:aws:backup:{copy_to}:{ACCOUNT}:backup-vault:{CELL}-copies"
    rule = {
        "RuleName": "daily",
        "TargetBackupVaultName": f"{CELL}-backups",
        "CopyActions": [{"DestinationBackupVaultArn": vault}],
    }
    return client("backup", region_name=region).create_backup_plan(
        BackupPlan={"BackupPlanName": f"{CELL}-daily", "Rules": [rule]},
        BackupPlanTags={t["Key"]: t["Value"] for t in TAGS},
    )["BackupPlanArn"]


def compliant_cell() -> dict[str, str]:
    """An eu cell that keeps every rule, plus another cell's non-compliant bucket the audit must ignore."""
    bucket(f"{CELL}-documents", CELL)
    bucket(f"{CELL}-documents-replica", "eu-west-1")
    replicate(f"{CELL}-documents", CELL, f"{CELL}-documents-replica")
    cert = client("acm", region_name="us-east-1").request_certificate(
        DomainName=f"{CELL}.app.myark.io", ValidationMethod="DNS", Tags=TAGS
    )["CertificateArn"]
    us_tags = [{"Key": "myark:cell", "Value": "us-east-1"}]
    bucket("us-east-1-documents", "us-east-1", tags=us_tags, encrypted=False, blocked=False, versioned=False)
    return {
        "table": table(f"{CELL}-sessions", CELL),
        "plan": backup_plan(CELL, copy_to="eu-west-1"),
        "cert": cert,
    }


# ---- compliant and non-compliant accounts -------------------------------------------------------


def test_a_compliant_cell_is_clean(fleet_copy: Path, moto_account: None, tmp_path: Path, capsys) -> None:
    made = compliant_cell()
    report = tmp_path / "audit.json"
    assert (
        run(["audit", "residency", CELL, "--skip-gcp", "--regions", SCAN, "--json", str(report)], fleet_copy)
        == 0
    )
    out = capsys.readouterr().out
    assert "Clean: no findings." in out
    assert f"Exempt: {made['cert']} (CloudFront certificate" in out
    assert "2 S3 buckets, 1 DynamoDB table, 1 backup plan" in out  # the us cell's bucket is not ours
    assert json.loads(report.read_text()) == []


def test_every_leak_and_weak_setting_is_a_finding(
    fleet_copy: Path, moto_account: None, tmp_path: Path, capsys
) -> None:
    bucket(f"{CELL}-stray", "us-east-1")  # a tagged bucket in the US for an EU cell
    bucket(f"{CELL}-plain", CELL, encrypted=False)
    bucket(f"{CELL}-open", CELL, blocked=False)
    bucket(f"{CELL}-flat", CELL, versioned=False)
    bucket(f"{CELL}-documents", CELL)
    bucket("us-east-1-mirror", "us-east-1", tags=[{"Key": "myark:cell", "Value": "us-east-1"}])
    replicate(f"{CELL}-documents", CELL, "us-east-1-mirror")
    sessions = table(f"{CELL}-sessions", CELL, pitr=False, protected=False)
    plan = backup_plan(CELL, copy_to="us-east-1")

    report = tmp_path / "audit.json"
    assert (
        run(["audit", "residency", CELL, "--skip-gcp", "--regions", SCAN, "--json", str(report)], fleet_copy)
        == 1
    )

    s3 = "arn:aws:s3:::"
    expected = {
        ("outside-zone", f"{s3}{CELL}-stray", "us-east-1"),
        ("bucket-unencrypted", f"{s3}{CELL}-plain", CELL),
        ("bucket-public-access", f"{s3}{CELL}-open", CELL),
        ("bucket-unversioned", f"{s3}{CELL}-flat", CELL),
        ("replication-outside-zone", f"{s3}{CELL}-documents", CELL),
        ("table-pitr-off", sessions, CELL),
        ("table-deletion-protection-off", sessions, CELL),
        ("backup-copy-outside-zone", plan, CELL),
    }
    findings = json.loads(report.read_text())
    assert {(f["kind"], f["arn"], f["region"]) for f in findings} == expected
    assert all(set(f) == {"kind", "arn", "region", "detail"} and f["detail"] for f in findings)
    by_kind = {f["kind"]: f["detail"] for f in findings}
    assert "lives in us-east-1; zone eu allows eu-central-1" in by_kind["outside-zone"]
    assert "replicates to arn:aws:s3:::us-east-1-mirror in us-east-1" in by_kind["replication-outside-zone"]
    assert (
        "BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets"
        in (by_kind["bucket-public-access"])
    )
    out = capsys.readouterr().out
    assert "KIND" in out and "DETAIL" in out and f"{len(expected)} findings." in out


def test_json_to_stdout_prints_only_json(fleet_copy: Path, moto_account: None, capsys) -> None:
    bucket(f"{CELL}-stray", "us-east-1")
    assert run(["audit", "residency", CELL, "--skip-gcp", "--regions", SCAN, "--json", "-"], fleet_copy) == 1
    findings = json.loads(capsys.readouterr().out)
    assert [f["kind"] for f in findings] == ["outside-zone"]


# ---- which regions are scanned ------------------------------------------------------------------


def denied(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed (test)"}}, operation)


def test_enabled_regions_come_from_describe_regions(monkeypatch) -> None:
    answer = {"Regions": [{"RegionName": "eu-west-1"}, {"RegionName": "ap-south-1"}]}
    fail_on(monkeypatch, "DescribeRegions", None, answer)
    assert discover_regions(Aws(SESSION), CELL) == (
        ["ap-south-1", "eu-west-1"],
        None,
    )


def test_without_describe_regions_the_known_regions_are_scanned(
    fleet_copy: Path, moto_account: None, monkeypatch, capsys
) -> None:
    fail_on(monkeypatch, "DescribeRegions", denied("DescribeRegions"))
    bucket(f"{CELL}-documents", CELL)
    assert run(["audit", "residency", CELL, "--skip-gcp"], fleet_copy) == 0
    captured = capsys.readouterr()
    assert f"Scanned {len(REGIONS)} regions" in captured.out
    assert (
        "note: ec2:DescribeRegions is denied; scanning only the regions cells.core.regions knows"
        in captured.err
    )


# ---- the rules on plain facts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "region", "zone", "verdict"),
    [
        (f"arn:aws:iam::{ACCOUNT}:role/{CELL}-api-task", "", "eu", "exempt"),
        (f"arn:aws:cloudfront::{ACCOUNT}:distribution/E123", "", "eu", "exempt"),
        (f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abc", "us-east-1", "eu", "exempt"),
        (f"arn:aws:acm:eu-west-2:{ACCOUNT}:certificate/abc", "eu-west-2", "eu", "outside-zone"),
        (f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:x", "us-west-2", "eu", "outside-zone"),
        (f"arn:aws:logs:eu-north-1:{ACCOUNT}:log-group:x", "eu-north-1", "eu", "ok"),
        (f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abc", "us-east-1", "us", "ok"),
        (f"arn:aws:health::{ACCOUNT}:event/x", "", "eu", "region-unknown"),
    ],
    ids=[
        "iam",
        "cloudfront",
        "cloudfront-cert",
        "cert-elsewhere",
        "logs-us",
        "logs-eu",
        "us-cert",
        "no-region",
    ],
)
def test_where_a_resource_may_live(arn: str, region: str, zone: str, verdict: str) -> None:
    got = placement(arn, region, zone)
    if verdict == "ok":
        assert got is None
    elif verdict == "exempt":
        assert isinstance(got, Exemption)
    else:
        assert isinstance(got, Finding) and got.kind == verdict


def test_replicas_and_unreadable_destinations_are_findings() -> None:
    t = TableFacts(f"arn:aws:dynamodb:{CELL}:{ACCOUNT}:table/t", CELL, True, True, ("eu-west-1", "us-east-2"))
    assert [(f.kind, f.detail.split(";")[0]) for f in table_findings(t, "eu")] == [
        ("replica-outside-zone", "has a replica in us-east-2")
    ]
    b = BucketFacts(
        "b",
        CELL,
        True,
        dict.fromkeys(PUBLIC_ACCESS_FLAGS, True),
        "Enabled",
        (ReplicationTarget("arn:aws:s3:::elsewhere", None),),
    )
    assert [f.kind for f in bucket_findings(b, "eu")] == ["replication-unverified"]


def test_the_legacy_bucket_locations_mean_regions() -> None:
    assert bucket_region(None) == "us-east-1"
    assert bucket_region("EU") == "eu-west-1"
    assert bucket_region("eu-north-1") == "eu-north-1"


# ---- bad input and AWS errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit", "residency", "mars-1"], "unknown stack 'mars-1'"),
        (["audit", "residency", "global"], "needs a cell stack; global is the global stack"),
        (["audit", "residency", CELL, "--regions", "eu central"], "not a list of AWS region names"),
    ],
    ids=["unknown-stack", "global-stack", "bad-regions"],
)
def test_bad_input_exits_2(fleet_copy: Path, argv: list[str], message: str, capsys) -> None:
    assert run(argv, fleet_copy) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("operation", "error", "expected"),
    [
        (
            "GetResources",
            denied("GetResources"),
            "resourcegroupstaggingapi:GetResources in eu-central-1 was denied (AccessDenied: not allowed "
            "(test)). Check that the IAM policy of your credentials allows tag:GetResources",
        ),
        (
            "GetBucketEncryption",
            ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "GetBucketEncryption"),
            "s3:GetBucketEncryption in eu-central-1 was throttled by AWS after retries",
        ),
        ("ListBuckets", NoCredentialsError(), "s3:ListBuckets in eu-central-1: no usable AWS credentials"),
        (
            "GetResources",
            EndpointConnectionError(endpoint_url="https://tagging.eu-central-1.amazonaws.com/"),
            "resourcegroupstaggingapi:GetResources in eu-central-1: could not reach AWS",
        ),
    ],
    ids=["denied", "throttled", "no-credentials", "unreachable"],
)
def test_aws_errors_become_one_clear_message(
    fleet_copy: Path, moto_account: None, monkeypatch, capsys, operation, error, expected
) -> None:
    bucket(f"{CELL}-documents", CELL)
    fail_on(monkeypatch, operation, error)
    assert run(["audit", "residency", CELL, "--skip-gcp", "--regions", CELL], fleet_copy) == 1
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""
