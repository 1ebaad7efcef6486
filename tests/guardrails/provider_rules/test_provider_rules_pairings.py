"""Provider rules on locations and pairings (cells/guardrails/provider_rules/pairings.py): CMEK key
locations, CloudFront alias health, KMS key policies and the ALB log bucket's policy."""

from __future__ import annotations

import json

from provider_rules_support import (
    BY_ID,
    LB,
    RECORD,
    Cases,
    case_tests,
    plan,
    res,
)

from cells.core.regions import elb_log_principal
from cells.guardrails.provider_rules import pairings
from cells.offline.plan import PlannedResource


def _key(policy_statements: list[dict]) -> PlannedResource:
    return res(
        "aws:kms/key:Key",
        "k-key",
        {"policy": json.dumps({"Version": "2012-10-17", "Statement": policy_statements})},
        {"arn": "arn:aws:kms:us-east-1:1:key/k"},
    )


EVENTS_GRANT = {
    "Effect": "Allow",
    "Principal": {"Service": "events.amazonaws.com"},
    "Action": ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": "*",
}
ROOT_ONLY = {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::1:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def _alb_logs(principal: dict, region: str = "eu-central-1") -> list[PlannedResource]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": ["s3:PutObject"], "Resource": "b/alb/*"}
    return [
        res(LB, "c-alb", {"accessLogs": {"bucket": "logs", "enabled": True}}, region=region),
        res("aws:s3/bucket:Bucket", "c-logs", {}, {"bucket": "logs", "id": "logs"}),
        res(
            "aws:s3/bucketPolicy:BucketPolicy",
            "c-logs-policy",
            {"bucket": "logs", "policy": {"Statement": [statement]}},
        ),
    ]


CASES: Cases = {
    "gcp-kms-location": (
        lambda: plan(res("gcp:kms/keyRing:KeyRing", "ring", {"location": "eu", "name": "r"})),
        lambda: plan(
            res("gcp:kms/keyRing:KeyRing", "ring", {"location": "europe", "name": "r"}),
            res("gcp:kms/keyRing:KeyRing", "ring2", {"location": "europe-west3", "name": "r2"}),
        ),
    ),
    "gcp-cmek-location": (
        lambda: plan(
            res(
                "gcp:bigquery/dataset:Dataset",
                "ds",
                {
                    "location": "EU",
                    "defaultEncryptionConfiguration": {"kmsKeyName": "projects/p/locations/eu/k"},
                },
            )
        ),
        lambda: plan(
            res(
                "gcp:bigquery/dataset:Dataset",
                "ds",
                {
                    "location": "EU",
                    "defaultEncryptionConfiguration": {"kmsKeyName": "projects/p/locations/europe/k"},
                },
            ),
            res(
                "gcp:firestore/database:Database",
                "db",
                {"locationId": "nam5", "cmekConfig": {"kmsKeyName": "projects/p/locations/us/keyRings/r/k"}},
            ),
        ),
    ),
    "route53-alias-health": (
        lambda: plan(
            res(
                RECORD,
                "app",
                {
                    "aliases": [
                        {"name": "d.cloudfront.net", "zoneId": "Z2FDTNDATAQYW2", "evaluateTargetHealth": True}
                    ]
                },
            )
        ),
        lambda: plan(
            res(
                RECORD,
                "app",
                {
                    "aliases": [
                        {
                            "name": "d.cloudfront.net",
                            "zoneId": "Z2FDTNDATAQYW2",
                            "evaluateTargetHealth": False,
                        }
                    ]
                },
            ),
            res(
                RECORD,
                "api",
                {
                    "aliases": [
                        {"name": "lb.elb.amazonaws.com", "zoneId": "Z215", "evaluateTargetHealth": True}
                    ]
                },
            ),
        ),
    ),
    "kms-key-policy-users": (
        lambda: plan(
            _key([ROOT_ONLY]),
            res(
                "aws:cloudwatch/eventBus:EventBus",
                "bus",
                {"kmsKeyIdentifier": "arn:aws:kms:us-east-1:1:key/k"},
            ),
        ),
        lambda: plan(
            _key([ROOT_ONLY, EVENTS_GRANT]),
            res(
                "aws:cloudwatch/eventBus:EventBus",
                "bus",
                {"kmsKeyIdentifier": "arn:aws:kms:us-east-1:1:key/k"},
            ),
        ),
    ),
    "alb-log-delivery-principal": (
        # eu-central-1 predates August 2022: the service principal does not get the logs there.
        lambda: plan(*_alb_logs({"Service": "logdelivery.elasticloadbalancing.amazonaws.com"})),
        lambda: plan(*_alb_logs({"AWS": "arn:aws:iam::054676820928:root"})),
    ),
}


(
    test_every_rule_of_the_theme_has_a_failing_and_a_passing_case,
    test_rule_fails_on_what_the_service_refuses,
    test_rule_passes_what_the_service_takes,
) = case_tests(CASES, pairings)


def test_alb_logs_in_a_region_newer_than_august_2022_go_to_the_service_principal() -> None:
    newer = "ap-southeast-5"
    assert elb_log_principal(newer) == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    service = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert not list(BY_ID["alb-log-delivery-principal"].check(plan(*_alb_logs(service, region=newer))))
