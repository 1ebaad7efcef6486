"""The guardrails: residency, encryption, public access, TLS, network, IAM, tags and protection.

Every rule is a `pulumi_policy` policy object, declared by a decorator right above its check
(`registry.resource_policy` / `registry.stack_policy`), in one module per theme:

- `residency`: resources and their copies stay in the cell's residency zone;
- `encryption`: encryption at rest (S3, KMS rotation, logs, SSM, DynamoDB, SNS/SQS, GCP CMEK);
- `exposure`: public access to S3, TLS in transit, who may admit the internet;
- `iam`: no admin wildcards, no long-lived keys;
- `tags`: the stack's cell, region and residency on every taggable resource;
- `protection`: Pulumi `protect` and the cloud's own deletion protection;
- `observability`: every alarm acts.

They share `readers` (values that may be proxies, JSON text or absent), `resource_types`, and
`context` (the stack's config, the zone of a resource, the residency exceptions). `pack` puts the
themes in order (`ALL_POLICIES`); `readme` generates the table of `policy/README.md` from it.

Two worlds run the very same objects:

- a real `pulumi preview/up --policy-pack policy`: `policy/__main__.py` hands `ALL_POLICIES` to a
  `PolicyPack`, the engine calls `validate(args, report_violation)` with the resource's inputs
  (camelCase wire names), its options and its provider; the stack's config arrives in the
  `PULUMI_CONFIG` environment variable, as it does for the program;
- offline, `plan_check.check_plan(plan)` builds the same `ResourceValidationArgs` (plus the stack
  config) from a recorded `cells.offline.plan.Plan` and calls the same `validate`.

No module here constructs a `PolicyPack`: that starts a gRPC server and blocks.
"""
