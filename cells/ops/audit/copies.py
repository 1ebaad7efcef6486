"""Where the cell's data is copied: RDS replicas and backup replication, Aurora cluster replicas, EFS
replication, ECR registry replication, CloudWatch Logs subscriptions."""

from __future__ import annotations

from collections.abc import Sequence

from cells.ops.audit.model import CopyFacts, parse_arn
from cells.ops.aws import Aws


def collect_copies(aws: Aws, arns: Sequence[str]) -> list[CopyFacts]:
    """Where the cell's RDS databases, EFS file systems, ECR repositories and log groups copy their data."""
    out: list[CopyFacts] = []
    ecr_repos: dict[str, list[str]] = {}
    for arn in arns:
        a = parse_arn(arn)
        if a.service == "rds" and a.resource.startswith("db:"):
            found = aws.call(
                "rds",
                a.region,
                "describe_db_instances",
                DBInstanceIdentifier=arn,
                absent=("DBInstanceNotFound",),
            )
            for db in (found or {}).get("DBInstances", []):
                for replica in db.get("ReadReplicaDBInstanceIdentifiers", []):
                    out.append(
                        CopyFacts(
                            arn, a.region, "RDS read replica", replica, parse_arn(replica).region or a.region
                        )
                    )
                for rep in db.get("DBInstanceAutomatedBackupsReplications", []):
                    dest = rep.get("DBInstanceAutomatedBackupsArn", "")
                    out.append(
                        CopyFacts(
                            arn, a.region, "RDS automated backup replication", dest, parse_arn(dest).region
                        )
                    )
        elif a.service == "rds" and a.resource.startswith("cluster:"):
            found = aws.call(
                "rds",
                a.region,
                "describe_db_clusters",
                DBClusterIdentifier=arn,
                absent=("DBClusterNotFoundFault",),
            )
            for db in (found or {}).get("DBClusters", []):
                for replica in db.get("ReadReplicaIdentifiers", []):
                    out.append(
                        CopyFacts(
                            arn,
                            a.region,
                            "RDS cluster replica",
                            replica,
                            parse_arn(replica).region or a.region,
                        )
                    )
        elif a.service == "elasticfilesystem" and a.resource.startswith("file-system/"):
            found = aws.call(
                "efs",
                a.region,
                "describe_replication_configurations",
                FileSystemId=a.resource.removeprefix("file-system/"),
                absent=("ReplicationNotFound", "FileSystemNotFound"),
            )
            for rep in (found or {}).get("Replications", []):
                for dest in rep.get("Destinations", []):
                    out.append(
                        CopyFacts(
                            arn,
                            a.region,
                            "EFS replication",
                            dest.get("FileSystemId", "?"),
                            dest.get("Region", ""),
                        )
                    )
        elif a.service == "ecr" and a.resource.startswith("repository/"):
            ecr_repos.setdefault(a.region, []).append(a.resource.removeprefix("repository/"))
        elif a.service == "logs" and a.resource.startswith("log-group:"):
            group = a.resource.removeprefix("log-group:").removesuffix(":*")
            for page in aws.pages("logs", a.region, "describe_subscription_filters", logGroupName=group):
                for f in page.get("subscriptionFilters", []):
                    dest = f.get("destinationArn", "")
                    out.append(
                        CopyFacts(arn, a.region, "CloudWatch Logs subscription", dest, parse_arn(dest).region)
                    )
    for region, repos in ecr_repos.items():
        registry = aws.call("ecr", region, "describe_registry")
        for rule in (registry.get("replicationConfiguration") or {}).get("rules", []):
            prefixes = [
                f["filter"]
                for f in rule.get("repositoryFilters", [])
                if f.get("filterType") == "PREFIX_MATCH"
            ]
            hit = [r for r in repos if not prefixes or any(r.startswith(p) for p in prefixes)]
            for dest in rule.get("destinations", []):
                for repo in hit:
                    arn = f"arn:aws:ecr:{region}:{registry.get('registryId', '')}:repository/{repo}"
                    out.append(
                        CopyFacts(
                            arn,
                            region,
                            "ECR registry replication",
                            f"registry {dest.get('registryId', '?')}",
                            dest.get("region", ""),
                        )
                    )
    return out
