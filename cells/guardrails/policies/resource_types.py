"""The resource types the policies read, by their Pulumi type token (`package:module/name:Name`)."""

from __future__ import annotations

S3_BUCKET = "aws:s3/bucket:Bucket"
S3_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_PUBLIC_ACCESS_BLOCKS = (
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
)
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
S3_OBJECTS = ("aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2")
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
SNS_TOPIC = "aws:sns/topic:Topic"
SQS_QUEUE = "aws:sqs/queue:Queue"
COGNITO_USER_POOL = "aws:cognito/userPool:UserPool"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
CLOUDFRONT_DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
ACM_CERTIFICATE = "aws:acm/certificate:Certificate"
# A waiter: it creates nothing in AWS, it waits until its certificate (checked itself) is issued.
ACM_CERTIFICATE_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
WAF_CLOUDFRONT_SCOPED = (
    "aws:wafv2/webAcl:WebAcl",
    "aws:wafv2/ipSet:IpSet",
    "aws:wafv2/ruleGroup:RuleGroup",
    "aws:wafv2/regexPatternSet:RegexPatternSet",
)
SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
IAM_POLICY_DOCUMENTS = {  # type -> the input holding a policy document
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
IAM_ROLE = "aws:iam/role:Role"
IAM_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
BACKUP_PLAN = "aws:backup/plan:Plan"
LOG_SUBSCRIPTION = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
FIRESTORE_DATABASE = "gcp:firestore/database:Database"
BIGQUERY_DATASET = "gcp:bigquery/dataset:Dataset"
BIGQUERY_TABLE = "gcp:bigquery/table:Table"
# GCP identity objects are global by nature (their location is literally "global") and hold no user data.
GCP_GLOBAL_TYPES = frozenset(
    {
        "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
        "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
        "gcp:serviceaccount/account:Account",
    }
)
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
