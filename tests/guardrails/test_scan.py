"""The Terraform-plan translator, the scanners behind it, and the skip list's gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cells.guardrails.scan.runner import SCANNER_ENV, run_checkov, run_parliament
from cells.guardrails.scan.terraform import IamDocument, iam_documents, singular, terraform_type, translate
from cells.guardrails.scan.verdict import Finding, ScanResult, Skip, SkipListError, judge_checkov, load_skips


def scanners_installed() -> None:
    if not (SCANNER_ENV / "bin" / "checkov").exists():
        pytest.fail(
            ".scanners/ is missing: run `./dev scan` (or `./dev test`) first; it installs the scanners"
        )


def resource(type_: str, name: str, **inputs: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:test::p::{type_}::{name}",
        "type": type_,
        "name": name,
        "parent": None,
        "provider": None,
        "region": "eu-central-1",
        "protect": False,
        "retainOnDelete": False,
        "inputs": inputs,
    }


def offline_plan(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"project": "p", "stack": "test", "resources": list(resources), "outputs": {}, "violations": []}


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("aws:s3/bucket:Bucket", "aws_s3_bucket"),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws_s3_bucket_public_access_block"),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", "aws_vpc_endpoint"),
        ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws_default_security_group"),
        ("aws:lb/loadBalancer:LoadBalancer", "aws_lb"),
        ("aws:lb/targetGroup:TargetGroup", "aws_lb_target_group"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws_vpc_security_group_ingress_rule"),
        ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
        ("aws:route53/hostedZoneDnsSec:HostedZoneDnsSec", "aws_route53_hosted_zone_dnssec"),
        ("aws:wafv2/webAclAssociation:WebAclAssociation", "aws_wafv2_web_acl_association"),
        ("gcp:firestore/database:Database", "google_firestore_database"),
        ("gcp:projects/iAMMember:IAMMember", "google_project_iam_member"),
        (
            "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
            "google_iam_workload_identity_pool_provider",
        ),
        ("cloudflare:index/dnsRecord:DnsRecord", "cloudflare_dns_record"),
        ("myark:cell:Cell", None),
        ("pulumi:providers:aws", None),
    ],
)
def test_pulumi_types_map_to_terraform_types(token: str, expected: str | None) -> None:
    assert terraform_type(token) == expected


def test_repeated_blocks_take_terraform_singular_names() -> None:
    assert [
        singular(n) for n in ("rules", "origins", "aliases", "policies", "default_actions", "address")
    ] == [
        "rule",
        "origin",
        "alias",
        "policy",
        "default_action",
        "address",
    ]


def test_the_cell_plan_translates_with_references_between_resources(plan_of) -> None:
    tr = translate(plan_of("eu-central-1").to_json())
    values = {r["address"]: r for r in tr.plan["planned_values"]["root_module"]["resources"]}
    config = {r["address"]: r["expressions"] for r in tr.plan["configuration"]["root_module"]["resources"]}
    block = "aws_s3_bucket_public_access_block.eu-central-1-documents-public-access"
    # The bucket is a reference (unknown at plan time), not a literal, so graph checks connect them.
    assert config[block]["bucket"]["references"] == [
        "aws_s3_bucket.eu-central-1-documents.id",
        "aws_s3_bucket.eu-central-1-documents",
    ]
    assert "bucket" not in values[block]["values"] and values[block]["values"]["block_public_acls"] is True
    # Nested single blocks are one-element lists; repeated blocks carry Terraform's singular name.
    sse = values["aws_s3_bucket_server_side_encryption_configuration.eu-central-1-documents-encryption"][
        "values"
    ]
    assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    # A nested reference is a nested expression, as in `terraform show -json`.
    cdn = config["aws_cloudfront_distribution.eu-central-1-cdn"]
    assert cdn["web_acl_id"]["references"][1] == "aws_wafv2_web_acl.eu-central-1-cdn-waf"
    # Every cloud resource is translated; only components and providers are left out.
    assert {t.split(":")[0] for t in tr.untranslated} <= {"myark", "pulumi"}
    assert set(tr.addresses.values()) == {
        r.urn for r in plan_of("eu-central-1").resources if r.custom and not r.type.startswith("pulumi:")
    }


def test_iam_documents_of_every_kind_are_collected(plan_of) -> None:
    kinds = {}
    for d in iam_documents(translate(plan_of("eu-central-1").to_json())):
        kinds.setdefault(d.kind, []).append(d.address)
    assert set(kinds) == {"trust", "identity", "resource", "key"}
    assert any(a.startswith("aws_s3_bucket_policy.") for a in kinds["resource"])
    assert any(a.startswith("aws_vpc_endpoint.") for a in kinds["resource"])
    assert any(a.startswith("aws_kms_key_policy.") for a in kinds["key"])


FLAWED = offline_plan(
    resource("aws:s3/bucket:Bucket", "flawed", bucket="flawed-bucket-of-test"),
    resource(
        "aws:ec2/securityGroup:SecurityGroup",
        "open-ssh",
        description="ssh from anywhere",
        ingress=[{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}],
    ),
)
GUARDED = offline_plan(
    resource("aws:s3/bucket:Bucket", "guarded", bucket="guarded-bucket-of-test"),
    resource(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "guarded-block",
        bucket="guarded-bucket-of-test",
        blockPublicAcls=True,
        blockPublicPolicy=True,
        ignorePublicAcls=True,
        restrictPublicBuckets=True,
    ),
)


def test_checkov_fails_known_flaws_and_passes_them_once_fixed(tmp_path: Path) -> None:
    scanners_installed()
    files = []
    for name, plan in (("flawed", FLAWED), ("guarded", GUARDED)):
        f = tmp_path / f"{name}.tfplan.json"
        f.write_text(json.dumps(translate(plan).plan))
        files.append(f)
    flawed, guarded = run_checkov(files)
    failed = {(c["check_id"], c["resource"]) for c in flawed["failed_checks"]}
    assert ("CKV_AWS_24", "aws_security_group.open-ssh") in failed  # SSH open to the world
    assert ("CKV2_AWS_6", "aws_s3_bucket.flawed") in failed  # no public access block
    # The graph check connects the guarded bucket to its block only through the reference.
    passed = {(c["check_id"], c["resource"]) for c in guarded["passed_checks"]}
    assert ("CKV2_AWS_6", "aws_s3_bucket.guarded") in passed


def test_parliament_flags_s3_actions_on_a_kms_key_and_reads_trust_and_key_policies_by_their_grammar() -> None:
    scanners_installed()
    key = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    mixed = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": key}],
    }
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "logs.eu-central-1.amazonaws.com"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        ],
    }
    docs = [
        IamDocument("a.mixed", "policy", "identity", json.dumps(mixed)),
        IamDocument("a.trust", "assume_role_policy", "trust", json.dumps(trust)),
        IamDocument("a.key", "policy", "key", json.dumps(key_policy)),
        IamDocument("a.star", "policy", "identity", json.dumps(key_policy)),
    ]
    mixed_found, trust_found, key_found, star_found = run_parliament(docs)
    assert "RESOURCE_MISMATCH" in {f["issue"] for f in mixed_found}
    assert trust_found == [] and key_found == []
    assert "RESOURCE_STAR" in {f["issue"] for f in star_found}  # the same "*" is a flaw outside a key policy


def test_a_failure_the_skip_list_names_is_skipped_and_any_other_fails() -> None:
    skips = [Skip("CKV_AWS_144", ("aws_s3_bucket.*-documents",), "residency forbids copies, see the README")]
    results = {
        "passed_checks": [{"check_id": "CKV_AWS_18"}],
        "failed_checks": [
            {
                "check_id": "CKV_AWS_144",
                "resource": "aws_s3_bucket.eu-documents",
                "check_name": "replication",
            },
            {"check_id": "CKV_AWS_144", "resource": "aws_s3_bucket.eu-site", "check_name": "replication"},
            {"check_id": "CKV_AWS_145", "resource": "aws_s3_bucket.eu-documents", "check_name": "kms"},
        ],
    }
    used: set[int] = set()
    report = judge_checkov("eu", "route53", results, skips, used)
    assert report.passed == 1 and used == {0}
    assert [f.address for f in report.skipped] == ["aws_s3_bucket.eu-documents"]
    assert report.failed == [
        Finding("checkov", "CKV_AWS_144", "aws_s3_bucket.eu-site", "replication"),
        Finding("checkov", "CKV_AWS_145", "aws_s3_bucket.eu-documents", "kms"),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"check": "CKV_AWS_1", "resources": ["aws_x.y"]}, "needs exactly check, resources and reason"),
        ({"check": "CKV_AWS_1", "resources": ["aws_x.y"], "reason": "because"}, "must say why"),
        ({"check": "CKV_AWS_1", "resources": ["*"], "reason": "x" * 50}, "not '*'"),
        ({"check": "CKV_AWS_1", "resources": [], "reason": "x" * 50}, "must list address patterns"),
    ],
)
def test_a_skip_without_a_reason_or_a_scope_is_refused(tmp_path: Path, entry: dict, message: str) -> None:
    f = tmp_path / "skips.yaml"
    f.write_text(json.dumps([entry]))
    with pytest.raises(SkipListError, match=message):
        load_skips(f)


def test_the_checked_in_skip_list_is_short_and_reasoned() -> None:
    skips = load_skips()
    assert len(skips) <= 15
    assert len({(s.check, s.resources) for s in skips}) == len(skips)


def test_a_skip_that_matches_nothing_fails_the_scan() -> None:
    stale = Skip("CKV_AWS_1", ("aws_x.y",), "a reason long enough to pass the skip list's own rule")
    assert not ScanResult(reports=[], unused_skips=[stale], seconds={}).ok
    assert ScanResult(reports=[], unused_skips=[], seconds={}).ok


def test_scan_of_an_unknown_stack_is_one_message_and_exit_2(capsys) -> None:
    from cells.cli.main import main

    assert main(["scan", "eu-nowhere-9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("scan: unknown stack eu-nowhere-9; known: ") and "Traceback" not in err
