"""The cell's health canary: CloudWatch Synthetics calls `https://<cell>.api.<domain><health path>`
every five minutes from the cell's region. Its results feed the `<cell>-canary` alarm and the release
gate (`cells status`). Its artifacts (screenshots, logs, HAR files) go to a bucket of the cell that is
KMS-encrypted, private, versioned and protected like every other (SecureBucket), kept 31 days.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from cells.core.observability import canary_name
from cells.infra.components.bucket import SecureBucket, SecureBucketArgs
from cells.infra.components.policy_documents import assume_role, document, statement

RUNTIME = "syn-nodejs-puppeteer-9.1"
SCHEDULE = "rate(5 minutes)"
ARTIFACT_DAYS = 31

# The canary script: one HTTPS GET of the health URL, anything but 2xx fails the run.
HEALTH_SCRIPT = """\
const synthetics = require('Synthetics');

exports.handler = async function () {
  const url = new URL(process.env.HEALTH_URL);
  const request = {
    hostname: url.hostname,
    method: 'GET',
    path: url.pathname,
    port: 443,
    protocol: 'https:',
    headers: { 'User-Agent': synthetics.getCanaryUserAgentString() },
  };
  await synthetics.executeHttpStep('health', request, (res) => new Promise((resolve, reject) => {
    if (res.statusCode < 200 || res.statusCode > 299) {
      reject(new Error(`${url} answered ${res.statusCode}`));
      return;
    }
    res.on('data', () => {});
    res.on('end', resolve);
  }));
};
"""


@dataclass(frozen=True)
class HealthCanaryArgs:
    cell: str
    region: str
    health_url: str
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    access_log_bucket: pulumi.Input[str]


class HealthCanary(pulumi.ComponentResource):
    def __init__(self, name: str, args: HealthCanaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:observability:HealthCanary", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        store = SecureBucket(
            f"{name}-canary-artifacts",
            SecureBucketArgs(
                kms_key_arn=args.kms_key_arn,
                expire_days=ARTIFACT_DAYS,
                noncurrent_version_days=ARTIFACT_DAYS,
                access_log_bucket=args.access_log_bucket,
            ),
            opts=child,
        )
        bucket = store.bucket
        code = aws.s3.BucketObjectv2(
            f"{name}-canary-code",
            bucket=bucket.id,
            key="code/health.zip",
            source=pulumi.AssetArchive({"nodejs/node_modules/index.js": pulumi.StringAsset(HEALTH_SCRIPT)}),
            server_side_encryption="aws:kms",
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        account = pulumi.Output.from_input(args.account_id)
        role = aws.iam.Role(
            f"{name}-canary-role",
            assume_role_policy=pulumi.Output.json_dumps(assume_role("lambda.amazonaws.com", args.account_id)),
            opts=child,
        )
        name_of = canary_name(args.cell)
        policy = document(
            statement("Allow", ["s3:PutObject", "s3:GetObject"], bucket.arn.apply(lambda a: f"{a}/*")),
            statement("Allow", ["s3:GetBucketLocation"], bucket.arn),
            # Synthetics lists buckets before it writes artifacts; the action has no resource scope.
            statement("Allow", ["s3:ListAllMyBuckets"], "*"),
            statement(
                "Allow",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                account.apply(
                    lambda a: f"arn:aws:logs:{args.region}:{a}:log-group:/aws/lambda/cwsyn-{name_of}-*"
                ),
            ),
            statement(
                "Allow",
                ["cloudwatch:PutMetricData"],
                "*",
                Condition={"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}},
            ),
            statement("Allow", ["kms:GenerateDataKey", "kms:Decrypt"], args.kms_key_arn),
        )
        aws.iam.RolePolicy(
            f"{name}-canary-policy", role=role.id, policy=pulumi.Output.json_dumps(policy), opts=child
        )
        self.canary = aws.synthetics.Canary(
            f"{name}-canary",
            name=name_of,
            artifact_s3_location=pulumi.Output.concat("s3://", bucket.bucket, "/runs/"),
            artifact_config={
                "s3_encryption": {"encryption_mode": "SSE_KMS", "kms_key_arn": args.kms_key_arn}
            },
            execution_role_arn=role.arn,
            handler="index.handler",
            runtime_version=RUNTIME,
            s3_bucket=bucket.id,
            s3_key=code.key,
            s3_version=code.version_id,
            schedule={"expression": SCHEDULE},
            run_config={"timeout_in_seconds": 60, "environment_variables": {"HEALTH_URL": args.health_url}},
            start_canary=True,
            success_retention_period=ARTIFACT_DAYS,
            failure_retention_period=ARTIFACT_DAYS,
            opts=child,
        )
        self.register_outputs({"canary_name": self.canary.name})
