"""Keyless cross-cloud access: the API's AWS task role becomes a GCP service account, nothing else.

Workload identity federation trusts the cell's AWS account, and its attribute condition admits only
the API task role; the service account holds only the roles the API needs. No keys exist anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from cells.core.naming import FEDERATION_PROVIDER_ID, api_service_account_id, federation_pool_id
from cells.infra.components.protection import kept


@dataclass(frozen=True)
class FederationArgs:
    project: str
    cell: str
    aws_account_id: pulumi.Input[str]
    task_role_name: pulumi.Input[str]
    datasets: dict[str, gcp.bigquery.Dataset]
    databases: dict[str, str | None] = field(default_factory=dict)
    """Firestore database name -> the dedicated tenant it belongs to (None: a shared shard)."""


def firestore_database_condition(
    project: str, database: str, tenant: str | None
) -> gcp.projects.IAMMemberConditionArgsDict:
    resource = f"projects/{project}/databases/{database}"
    owner = f"dedicated to tenant {tenant}" if tenant else "a shared shard"
    return {
        "title": f"only Firestore database {database}"[:100],
        "description": f"The API reaches {database} ({owner}) through this grant alone",
        "expression": f'resource.name == "{resource}" || resource.name.startsWith("{resource}/")',
    }


class Federation(pulumi.ComponentResource):
    def __init__(self, name: str, args: FederationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:security:Federation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # A deleted pool or provider id cannot be reused for 30 days, and the service account's
        # identity is what every grant names: losing one locks the API out of GCP for a month.
        keep = kept(self)
        pool_id = federation_pool_id(args.cell)
        self.pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-pool",
            project=args.project,
            workload_identity_pool_id=pool_id,
            display_name=f"MyARK {args.cell} AWS"[:32],
            description="The cell's API tasks on AWS",
            opts=keep,
        )
        role = pulumi.Output.from_input(args.task_role_name)
        self.provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-aws",
            project=args.project,
            workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=FEDERATION_PROVIDER_ID,
            aws={"account_id": args.aws_account_id},
            attribute_mapping={
                "google.subject": "assertion.arn",
                "attribute.aws_role": "assertion.arn.extract('assumed-role/{role}/')",
            },
            # Only the API task role of this cell may exchange its credentials.
            attribute_condition=role.apply(lambda r: f"attribute.aws_role == '{r}'"),
            opts=keep,
        )
        self.service_account = gcp.serviceaccount.Account(
            f"{name}-api",
            project=args.project,
            account_id=api_service_account_id(args.cell),
            display_name=f"MyARK API of cell {args.cell}",
            opts=keep,
        )
        member = pulumi.Output.all(self.pool.name, role).apply(
            lambda a: f"principalSet://iam.googleapis.com/{a[0]}/attribute.aws_role/{a[1]}"
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-api-federated",
            service_account_id=self.service_account.name,
            role="roles/iam.workloadIdentityUser",
            member=member,
            opts=child,
        )
        sa = self.service_account.member
        # One grant per Firestore database, each scoped by an IAM condition to that database's
        # resource name: a dedicated tenant's database is reached only through its own grant (and
        # revoking it cuts that tenant alone). A project-wide role would reach every database.
        for database, tenant in sorted(args.databases.items()):
            gcp.projects.IAMMember(
                f"{name}-api-firestore-{database}",
                project=args.project,
                role="roles/datastore.user",
                member=sa,
                condition=firestore_database_condition(args.project, database, tenant),
                opts=child,
            )
        gcp.projects.IAMMember(
            f"{name}-api-bigquery-jobs",
            project=args.project,
            role="roles/bigquery.jobUser",
            member=sa,
            opts=child,
        )
        for owner, dataset in args.datasets.items():
            gcp.bigquery.DatasetIamMember(
                f"{name}-api-dataset-{owner or 'cell'}",
                project=args.project,
                dataset_id=dataset.dataset_id,
                role="roles/bigquery.dataEditor",
                member=sa,
                opts=child,
            )
        # What the API passes to Google's STS as the audience of its AWS credentials.
        self.audience = self.provider.name.apply(lambda n: f"//iam.googleapis.com/{n}")
        self.register_outputs({"audience": self.audience, "service_account": self.service_account.email})
