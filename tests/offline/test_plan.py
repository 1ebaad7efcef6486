"""The offline plan of the real stacks: what each builds, where, and how it is protected."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys

import pulumi
import pulumi_aws as aws
import pytest

from cells.core.config.stack_files import PROJECT_ROOT
from cells.core.naming import REQUIRED_TAGS
from cells.core.regions import CLOUDFRONT_CERT_REGION, REGIONS
from cells.offline.plan import PlanError, record_plan

CELLS = ("eu-central-1", "us-east-1")
STATEFUL_TYPES = {"aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup"}


def _is_cloudfront_cert(r) -> bool:
    """The documented exception: CloudFront's certificate (and the wait for its issue) in us-east-1."""
    return (
        r.type in ("aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation")
        and r.region == CLOUDFRONT_CERT_REGION
        and "-cdn-cert" in r.name
    )


@pytest.mark.parametrize("stack", CELLS)
def test_every_regional_resource_of_a_cell_lives_in_its_region(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    regional = [r for r in plan.cloud_resources() if r.cloud == "aws" and r.region is not None]
    assert len(regional) > 50
    for r in regional:
        if _is_cloudfront_cert(r):
            continue  # documented exception: CloudFront only takes us-east-1 certificates
        assert r.region == stack, r.urn


def test_outside_eu_central_1_the_eu_cell_has_only_the_cloudfront_certificate(plan_of):
    plan = plan_of("eu-central-1")
    outside = [
        r for r in plan.cloud_resources() if r.cloud == "aws" and r.region not in (None, "eu-central-1")
    ]
    assert sorted((r.type, r.name, r.region) for r in outside) == [
        ("aws:acm/certificate:Certificate", "eu-central-1-cdn-cert", "us-east-1"),
        (
            "aws:acm/certificateValidation:CertificateValidation",
            "eu-central-1-cdn-cert-validation",
            "us-east-1",
        ),
    ]
    cert = next(r for r in outside if r.type == "aws:acm/certificate:Certificate")
    assert cert.inputs["domainName"] == "eu-central-1.app.myark.io"


@pytest.mark.parametrize("stack", CELLS)
def test_global_aws_resources_are_only_global_services(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    unplaced = [r for r in plan.cloud_resources() if r.cloud == "aws" and r.region is None]
    assert {r.module for r in unplaced} <= {"iam", "cloudfront", "route53", "wafv2"}
    # A web ACL without a region is CloudFront's (kept in us-east-1, holding no logs or samples).
    for acl in (r for r in unplaced if r.module == "wafv2"):
        assert acl.inputs["scope"] == "CLOUDFRONT" and acl.inputs["region"] == "us-east-1", acl.urn
        assert not acl.inputs["visibilityConfig"]["sampledRequestsEnabled"], acl.urn


@pytest.mark.parametrize("stack", CELLS)
def test_one_aws_provider_per_stack(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    providers = plan.of_type("pulumi:providers:aws")
    assert len(providers) == 1
    assert providers[0].region == stack
    for r in plan.cloud_resources():
        if r.cloud == "aws":
            assert r.provider == providers[0].urn, r.urn


@pytest.mark.parametrize("stack", CELLS)
def test_stateful_resources_are_protected_and_retained(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    stateful = [r for r in plan.resources if r.type in STATEFUL_TYPES]
    assert len(stateful) >= 7
    for r in stateful:
        assert r.protect and r.retain_on_delete, r.urn


@pytest.mark.parametrize("stack", CELLS)
def test_every_bucket_is_encrypted_versioned_private_and_tls_only(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    buckets = plan.of_type("aws:s3/bucket:Bucket")
    assert len(buckets) == 4  # documents, logs, site, canary artifacts
    for b in buckets:
        kids = {r.type: r for r in plan.children_of(b.parent)}
        block = kids["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"].inputs
        assert all(
            block[k]
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ), b.urn
        sse = kids["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]
        algo = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
        assert algo == ("AES256" if b.name.endswith("-logs") else "aws:kms"), b.urn
        versioning = kids["aws:s3/bucketVersioning:BucketVersioning"].inputs
        assert versioning["versioningConfiguration"]["status"] == "Enabled"
        policy = json.loads(kids["aws:s3/bucketPolicy:BucketPolicy"].inputs["policy"])
        sids = {s.get("Sid") for s in policy["Statement"]}
        assert {"DenyInsecureTransport", "DenyTlsBelow12", "DenyBucketDeletion"} <= sids
        assert not any(s.get("Principal") == "*" and s["Effect"] == "Allow" for s in policy["Statement"])


@pytest.mark.parametrize("stack", CELLS)
def test_every_taggable_resource_carries_the_cell_tags(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    tagged = [r for r in plan.cloud_resources() if "tags" in r.inputs]
    assert len(tagged) > 40
    for r in tagged:
        for tag in REQUIRED_TAGS:
            assert tag in r.inputs["tags"], (r.urn, tag)
        assert r.inputs["tags"]["myark:residency"] == REGIONS[stack].zone


def test_load_balancer_is_https_with_tls12_and_redirects_http(plan_of) -> None:
    plan = plan_of("eu-central-1")
    listeners = {r.inputs["port"]: r.inputs for r in plan.of_type("aws:lb/listener:Listener")}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert listeners[80]["defaultActions"][0]["redirect"]["protocol"] == "HTTPS"
    alb = plan.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert alb["enableDeletionProtection"] and alb["dropInvalidHeaderFields"]
    assert alb["accessLogs"]["enabled"]


def test_only_the_load_balancer_is_open_to_the_world_and_only_on_80_and_443(plan_of) -> None:
    plan = plan_of("eu-central-1")
    lb_sg = plan.one("aws:ec2/securityGroup:SecurityGroup", "eu-central-1-sg").urn
    for rule in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        if rule.inputs.get("cidrIpv4") == "0.0.0.0/0":
            assert rule.parent == plan.by_urn(lb_sg).parent
            assert rule.inputs["fromPort"] in (80, 443)
    api_rules = [
        r
        for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.startswith("eu-central-1-api-sg-from")
    ]
    assert len(api_rules) == 1 and "referencedSecurityGroupId" in api_rules[0].inputs


def test_api_tasks_run_in_private_subnets_without_public_ips(plan_of) -> None:
    plan = plan_of("eu-central-1")
    service = plan.one("aws:ecs/service:Service").inputs
    assert service["networkConfiguration"]["assignPublicIp"] is False
    private = [
        r for r in plan.of_type("aws:ec2/subnet:Subnet") if r.inputs["tags"]["myark:tier"] == "private"
    ]
    assert len(private) == 3
    assert len(service["networkConfiguration"]["subnets"]) == 3
    containers = json.loads(plan.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    env = {e["name"]: e["value"] for e in containers[0]["environment"]}
    assert env["MYARK_CELL"] == "eu-central-1" and env["MYARK_RESIDENCY"] == "eu"
    assert containers[0]["logConfiguration"]["options"]["awslogs-group"]


def test_pilot_cell_is_small_and_production_cell_is_resilient(plan_of) -> None:
    eu, us = plan_of("eu-central-1"), plan_of("us-east-1")
    assert len(eu.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert len(us.of_type("aws:ec2/natGateway:NatGateway")) == 3


def test_flow_logs_and_kms_rotation(plan_of) -> None:
    plan = plan_of("eu-central-1")
    assert plan.one("aws:ec2/flowLog:FlowLog").inputs["trafficType"] == "ALL"
    for key in plan.of_type("aws:kms/key:Key"):
        assert key.inputs["enableKeyRotation"] and key.inputs["deletionWindowInDays"] == 30, key.urn
    for group in plan.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:eu-central-1:"), group.urn
        assert group.inputs["deletionProtectionEnabled"] is True


def test_components_follow_the_type_token_convention(plan_of) -> None:
    plan = plan_of("eu-central-1")
    components = [r for r in plan.resources if not r.custom]
    assert components
    for c in components:
        assert c.type.startswith("myark:") and c.type.count(":") == 2, c.type
    for r in plan.cloud_resources():
        assert r.parent is not None, f"{r.urn} is not parented to a component"


def test_stack_outputs_are_recorded(plan_of) -> None:
    outputs = plan_of("eu-central-1").outputs
    assert outputs["cell"] == "eu-central-1"
    assert outputs["loadBalancerDnsName"].endswith(".eu-central-1.elb.amazonaws.com")


def test_duplicate_urns_are_an_error() -> None:
    def program() -> None:
        provider = aws.Provider("aws", region="eu-central-1")
        opts = pulumi.ResourceOptions(provider=provider)
        aws.sqs.Queue("twice", opts=opts)
        aws.sqs.Queue("twice", opts=opts)

    with pytest.raises(PlanError, match=r"duplicate URN .*aws:sqs/queue:Queue::twice"):
        record_plan("eu-central-1", program=program, stack_outputs={})


def test_plans_are_isolated_from_each_other() -> None:
    first = record_plan(
        "eu-central-1", program=lambda: aws.Provider("p1", region="eu-central-1"), stack_outputs={}
    )
    second = record_plan(
        "eu-central-1", program=lambda: aws.Provider("p2", region="eu-central-1"), stack_outputs={}
    )
    assert [r.name for r in first.resources] == ["p1"]
    assert [r.name for r in second.resources] == ["p2"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cells", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_unknown_stack_exits_2_with_one_line() -> None:
    done = _cli("plan", "mars-1")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "unknown stack 'mars-1'" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_bad_argument_exits_2() -> None:
    done = _cli("plan")
    assert done.returncode == 2 and "stack" in done.stderr and "Traceback" not in done.stderr


def test_cli_plan_writes_the_json_contract(tmp_path, capsys) -> None:
    from cells.cli.main import main

    out = tmp_path / "out.json"
    assert main(["plan", "eu-central-1", "--json", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert set(doc) >= {"project", "stack", "resources", "outputs", "violations"}
    assert doc["project"] == "myark-cells" and doc["stack"] == "eu-central-1"
    keys = {"urn", "type", "name", "parent", "provider", "region", "protect", "retainOnDelete", "inputs"}
    assert all(set(r) == keys for r in doc["resources"])
    assert "by region:" in stdout and "eu-central-1" in stdout and "0 policy violations" in stdout


def test_the_cell_alarms_are_named_for_the_health_gate(plan_of) -> None:
    alarms = plan_of("eu-central-1").of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    names = sorted(a.inputs["name"] for a in alarms)
    assert names == [
        "eu-central-1-api-5xx",
        "eu-central-1-api-cpu",
        "eu-central-1-api-p99-latency",
        "eu-central-1-canary",
        "eu-central-1-capacity",  # cells/infra/components/capacity.py: 80 % of myark:cell.capacity
        "eu-central-1-unhealthy-targets",
    ]
    assert all(a.region == "eu-central-1" for a in alarms)


def test_the_pulumi_cli_entry_builds_what_the_offline_plan_builds(plan_of) -> None:
    # `pulumi up` runs ./__main__.py, not cells.infra.program.main directly: the entry itself must
    # import and build the same resources (a broken import there fails only for real otherwise).
    entry = record_plan(
        "global", program=lambda: runpy.run_path(str(PROJECT_ROOT / "__main__.py"), run_name="__main__")
    )
    assert sorted(r.urn for r in entry.resources) == sorted(r.urn for r in plan_of("global").resources)
    assert len(entry.resources) > 20


def test_the_pulumi_cli_entry_turns_a_config_error_into_one_line(monkeypatch) -> None:
    from cells.core.errors import ConfigError
    from cells.infra import program

    def bad() -> None:
        raise ConfigError("Pulumi.global.yaml: myark:domain: missing; e.g. myark.example")

    monkeypatch.setattr(program, "main", bad)
    with pytest.raises(pulumi.RunError) as err:
        runpy.run_path(str(PROJECT_ROOT / "__main__.py"), run_name="__main__")
    assert str(err.value) == "Pulumi.global.yaml: myark:domain: missing; e.g. myark.example"
    assert err.value.__cause__ is None and err.value.__suppress_context__
