"""Independent security gates: checkov and parliament over the offline plan.

Neither scanner reads a Pulumi program, but pulumi-aws and pulumi-gcp are bridged from the Terraform
providers, so an offline plan translates mechanically into Terraform's plan JSON (`terraform show
-json`): the type token names the Terraform type, input names are the Terraform names in camelCase,
nested single blocks become one-element lists, and values that are another resource's id or ARN
become references (`configuration.root_module.resources[].expressions`), so that checkov's graph
checks connect a bucket to its policy, encryption and public-access block. Every IAM document in the
plan (trust, inline and key policies, bucket policies, ...) goes to parliament.

The scanners run in their own environment (`.scanners/`, made by `./dev` from
`scanners/requirements.txt`), pinned and offline; the project's lock never sees them. Findings are
gated against `scanners/skips.yaml`: each skip names one check, the resources it covers, and why.

Layout: `terraform` (the offline plan as Terraform plan JSON, and its IAM documents), `runner`
(the scanners' environment, running checkov and parliament, the plans of each edge mode, `scan`)
and `verdict` (the skip list, findings gated against it, the report).
"""
