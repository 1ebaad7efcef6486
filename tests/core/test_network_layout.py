"""Subnet carving, property-tested: inside the VPC, never overlapping, one of each tier per AZ."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cells.core.network_layout import MAX_AZS, carve

vpcs = st.builds(
    lambda second, prefix: str(ipaddress.ip_network(f"10.{second}.0.0/{prefix}", strict=False)),
    st.integers(0, 255),
    st.integers(16, 20),
)
azs = st.integers(1, MAX_AZS).map(lambda n: tuple(f"eu-central-1{c}" for c in "abcdef"[:n]))


@given(vpcs, azs)
def test_subnets_lie_inside_the_vpc_and_never_overlap(vpc: str, zones: tuple[str, ...]) -> None:
    net = ipaddress.IPv4Network(vpc)
    subnets = [ipaddress.IPv4Network(p.cidr) for p in carve(vpc, zones)]
    assert all(s.subnet_of(net) for s in subnets)
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b), (a, b)


@given(vpcs, azs)
def test_one_subnet_per_tier_per_az_and_private_is_the_largest(vpc: str, zones: tuple[str, ...]) -> None:
    plans = carve(vpc, zones)
    assert sorted((p.tier, p.az) for p in plans) == sorted(
        (t, az) for t in ("public", "private", "isolated") for az in zones
    )
    size = {p.tier: ipaddress.ip_network(p.cidr).num_addresses for p in plans}
    assert size["private"] > size["public"] == size["isolated"]


def test_a_16_gives_8k_addresses_per_private_subnet() -> None:
    private = [p for p in carve("10.32.0.0/16", ("a", "b", "c")) if p.tier == "private"]
    assert [p.cidr for p in private] == ["10.32.0.0/19", "10.32.32.0/19", "10.32.64.0/19"]


def test_more_azs_than_the_layout_holds_is_refused() -> None:
    with pytest.raises(ValueError, match="1 to 6"):
        carve("10.0.0.0/16", tuple("abcdefg"))
