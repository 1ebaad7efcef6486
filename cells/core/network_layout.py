"""Subnet carving: pure layout logic, apart from resource creation (property-tested).

The VPC is cut into eight equal blocks. The first six hold one private subnet per AZ (tasks live
there and need the room); block 6 is cut in eight for the public subnets (load balancer, NAT) and
block 7 in eight for the isolated subnets (VPC endpoints, future data stores). Six AZs at most.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MAX_AZS = 6


@dataclass(frozen=True)
class SubnetPlan:
    tier: str  # public | private | isolated
    az: str
    cidr: str


def carve(vpc_cidr: str, azs: tuple[str, ...]) -> list[SubnetPlan]:
    if not 1 <= len(azs) <= MAX_AZS:
        raise ValueError(f"{len(azs)} AZs; a layout takes 1 to {MAX_AZS}")
    vpc = ipaddress.ip_network(vpc_cidr)
    blocks = list(vpc.subnets(prefixlen_diff=3))
    public = list(blocks[6].subnets(prefixlen_diff=3))
    isolated = list(blocks[7].subnets(prefixlen_diff=3))
    plans: list[SubnetPlan] = []
    for i, az in enumerate(azs):
        plans.append(SubnetPlan("public", az, str(public[i])))
        plans.append(SubnetPlan("private", az, str(blocks[i])))
        plans.append(SubnetPlan("isolated", az, str(isolated[i])))
    return plans
