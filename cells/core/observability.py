"""Names of what watches a cell, shared by the stacks that create them and the tools that read them.

Pure: no Pulumi. A CloudWatch Synthetics canary name is at most 21 characters of [0-9a-z_-]; a long
cell name is cut and given a short hash so two cells never share a canary.
"""

from __future__ import annotations

import hashlib
import re

CANARY_NAME_MAX = 21
CANARY_SUFFIX = "-health"


def canary_name(cell: str) -> str:
    """The cell's health canary, e.g. `eu-central-1-health`."""
    base = re.sub(r"[^0-9a-z_-]", "-", cell.lower())
    if len(base) + len(CANARY_SUFFIX) <= CANARY_NAME_MAX:
        return base + CANARY_SUFFIX
    digest = hashlib.sha256(cell.encode()).hexdigest()[:4]
    keep = CANARY_NAME_MAX - len(CANARY_SUFFIX) - len(digest) - 1
    return f"{base[:keep]}-{digest}{CANARY_SUFFIX}"


# The cell's alarms (`<cell>-<suffix>`): what `cells status`, the gate and the fleet dashboard read.
ALARM_SUFFIXES = ("api-5xx", "unhealthy-targets", "api-cpu", "api-p99-latency", "canary", "capacity")
# Alarms about load, not about a release: `cells status` shows them, the release gate does not fail on
# them (a full cell is fixed by moving users, not by rolling back a good image).
NOT_RELEASE_ALARM_SUFFIXES = ("capacity",)
P99_LATENCY_SECONDS = 1.5  # the API's p99 target response time above which a cell is slow


def alarm_topic_name(cell: str) -> str:
    return f"{cell}-alarms"


def cell_dashboard_name(cell: str) -> str:
    return f"myark-cell-{cell}"


FLEET_DASHBOARD_NAME = "myark-fleet"
