"""`python -m cells shards show|plan`: the cell's shard map, and what a change would move.
`python -m cells shard-vectors [PATH]`: regenerate the cross-language test vectors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from cells.core.config.stack_files import load_stack, load_yaml
from cells.core.errors import ConfigError, UsageError, write_output
from cells.core.sharding.ranges import format_ranges
from cells.core.sharding.rebalance import plan_rebalance
from cells.core.sharding.shard_map import ShardMap
from cells.core.sharding.vectors import DEFAULT_VECTORS_PATH, VECTOR_IDS, render_vectors


def register(sub) -> None:
    shards = sub.add_parser(
        "shards",
        help="show a cell's shard map, or plan a change to it",
        description="show STACK: the validated shard map of a cell. plan STACK --logical N | --map FILE: "
        "what would move (logical shards between physical shards, share of users) under a proposed map.",
        epilog="Exit codes: 0 shown/planned; 2 invalid map, unknown stack or bad argument.",
    )
    shards.add_argument("action", choices=["show", "plan"])
    shards.add_argument("stack", help="a cell stack, e.g. eu-central-1")
    shards.add_argument(
        "--logical",
        type=int,
        metavar="N",
        help="plan: a new logical count (10 to 50), spread evenly over the same physical shards",
    )
    shards.add_argument(
        "--map", metavar="FILE", help="plan: a proposed map (YAML or JSON, as under myark:cell.shards)"
    )
    shards.add_argument(
        "--sample",
        type=int,
        default=100_000,
        metavar="N",
        help="plan: ids hashed to measure movement (default 100000)",
    )

    vectors = sub.add_parser(
        "shard-vectors",
        help="regenerate the sharding test vectors other languages check against",
        description="Write the jump-hash test vectors (ids, keys, shards for several counts) to PATH.",
        epilog="Exit codes: 0 written; 2 PATH cannot be written.",
    )
    vectors.add_argument("path", nargs="?", default=str(DEFAULT_VECTORS_PATH))


def run_vectors(args: argparse.Namespace) -> int:
    write_output(args.path, render_vectors(), "shard-vectors PATH")
    print(f"wrote {len(VECTOR_IDS)} id cases to {args.path}")
    return 0


def spread(current: ShardMap, logical: int) -> dict:
    """The same physical shards, `logical` logical shards cut into contiguous, near-equal ranges."""
    names = sorted(current.physical)
    bounds = [round(i * logical / len(names)) for i in range(len(names) + 1)]
    physical = {n: format_ranges(range(bounds[i], bounds[i + 1])) for i, n in enumerate(names)}
    tenants = {t: v.model_dump(by_alias=True) for t, v in current.tenants.items()}
    return {"logical": logical, "physical": physical, "tenants": tenants}


def _proposed(args: argparse.Namespace, current: ShardMap) -> tuple[str, ShardMap]:
    if (args.logical is None) == (args.map is None):
        raise UsageError("shards plan: give exactly one of --logical N or --map FILE")
    if args.logical is not None:
        source, raw = f"--logical {args.logical}", spread(current, args.logical)
    else:
        path = Path(args.map)
        if not path.is_file():
            raise UsageError(f"shards plan: --map {args.map}: no such file; give a YAML or JSON shard map")
        source = path.name
        try:
            raw = load_yaml(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: is not valid YAML or JSON: {exc}".replace("\n", " ")) from None
    try:
        return source, ShardMap.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'map'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None


def run(args: argparse.Namespace) -> int:
    settings = load_stack(args.stack)
    if settings.config.cell is None:
        raise UsageError(f"{args.stack} is the global stack; shards belong to cell stacks")
    current = settings.cell.shards
    if args.action == "show":
        print(
            f"cell {settings.cell.name} ({settings.cell.zone}): {current.logical} logical shards, "
            f"key = SHA-256(UTF-8 id)[0:8] big-endian, shard = jump_hash(key, {current.logical})"
        )
        for name, shards in sorted(current.physical_sets().items()):
            print(f"  {name:<28} logical {format_ranges(shards):<20} ({len(shards)} shards)")
        for tenant, home in sorted(current.tenants.items()):
            kms = ", own KMS key" if home.dedicated_kms_key else ""
            print(f"  {home.physical:<28} tenant {tenant} (dedicated{kms})")
        print(json.dumps(current.to_public_dict(), sort_keys=True))
        return 0
    source, proposed = _proposed(args, current)
    from cells.core.sharding.rebalance import sample_user_ids

    plan = plan_rebalance(current, proposed, list(sample_user_ids(args.sample)))
    print(f"cell {settings.cell.name}: current map -> {source}")
    print(plan.render())
    return 0


HANDLERS = {"shards": run, "shard-vectors": run_vectors}
