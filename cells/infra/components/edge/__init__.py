"""The edge: how `api.<domain>` reaches each user's home cell (Route53 or Cloudflare backend).

Only `cells/infra/components/edge/cloudflare.py` imports pulumi_cloudflare (about 5 s): a Route53 fleet never pays it.
"""
