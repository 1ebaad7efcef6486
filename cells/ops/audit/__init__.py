"""Residency audit of a live cell: everything tagged with the cell, where it lives, how it is kept.

The shell (`collect.run`: `sweep`, `copies` and `gcp` ask AWS and GCP) gathers an `Inventory`
(`model`); the core (`findings.audit`) judges those facts against the cell's residency zone
(docs/architecture.md, "Residency at each layer"), and `render` prints them:

- every resource tagged `myark:cell=<cell>` lives in a region of the cell's zone. Exempt: global
  services (IAM, CloudFront, Route53, ... `cells.core.regions.AWS_GLOBAL_MODULES`: their ARNs name no region),
  and an ACM certificate in us-east-1. CloudFront only takes certificates from us-east-1, and an ACM
  certificate can only be attached in its own region, so a tagged us-east-1 certificate of a non-us
  cell can only be the frontend's CloudFront certificate: it holds no user data.
- no S3 replication, DynamoDB replica or AWS Backup copy leaves the zone;
- buckets are encrypted, block public access (all four flags), keep versions;
- DynamoDB tables have point-in-time recovery and deletion protection;
- nothing named for the cell goes untagged (found by name in every region: S3, DynamoDB, ECR,
  CloudWatch Logs, RDS instances, clusters and snapshots, EFS, AWS Backup vaults and plans);
- no RDS read replica or automated-backup replication, EFS replication, ECR registry replication or
  CloudWatch Logs subscription sends the cell's data outside the zone (`copies`);
- on GCP, every asset of the cell's project (Cloud Asset Inventory) lives in the zone (`gcp`).

An account where nothing of the cell is found is not clean: it is the wrong account, or the cell is
not deployed there (exit 3 in the CLI).

Modules: `model` (the facts and the verdicts), `findings` (the rules: facts in, findings out),
`render` (the report and its JSON), `sweep` (AWS: what is tagged or named for the cell, in every
region, and how it is kept), `copies` (AWS: where the cell's data is copied), `gcp` (Cloud Asset
Inventory), `collect` (gathers an `Inventory` and runs the audit).
"""
