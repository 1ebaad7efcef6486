"""Where a cell's load balancer accepts traffic from, per edge provider."""

from __future__ import annotations

# Cloudflare's published IPv4 ranges (cloudflare.com/ips-v4). With the Cloudflare edge, only the
# Worker may reach a cell's load balancer; review this list when Cloudflare announces a change.
CLOUDFLARE_IPV4 = (
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
)
# Behind Cloudflare the load balancer sees Cloudflare's addresses: the router forwards the client's
# (CF-Connecting-IP) in this header, and the web ACL rate-limits on it. Clients cannot set it: the
# router strips every client-sent X-MyARK-* header, and only the router passes the origin check.
CLIENT_IP_HEADER = "X-MyARK-Client-IP"
# The header carrying the cell's origin secret from the router to the cell's load balancer.
ORIGIN_AUTH_HEADER = "X-MyARK-Origin-Auth"
# With Route53 the load balancer is the edge: clients connect to it directly.
WORLD = ("0.0.0.0/0",)


def ingress_cidrs(edge_provider: str) -> tuple[str, ...]:
    return CLOUDFLARE_IPV4 if edge_provider == "cloudflare" else WORLD
