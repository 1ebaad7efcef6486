"""Does a moto server apply DynamoDB transactions atomically when requests arrive together?

Rounds of N threads each send one TransactWriteItems that sets `version` to v+1 on condition that it
is v (and records `winner` and `log#<v>#<i>`). DynamoDB lets exactly one through per round. Counted per
server mode: rounds with more than one winner (a condition checked before another request's write
landed), and rounds where the item does not show the winner (a failed transaction's roll-back undid
a committed write). `--parallel` is moto's own server; the default wraps it in one lock per request
(what `tests/moto_server.py` serves to the race test).

    .venv/bin/python benchmarks/moto_atomicity.py [--rounds 200] [--racers 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from moto_server import moto_server


def trial(url: str, rounds: int, racers: int) -> dict[str, float]:
    ddb = boto3.Session().client("dynamodb", region_name="us-east-1", endpoint_url=url)
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="t", Item={"pk": {"S": "zone"}, "version": {"N": "0"}})
    double = lost = 0
    began = time.perf_counter()
    for v in range(rounds):
        won = [False] * racers
        start = threading.Barrier(racers)

        def bump(i: int, v: int = v, won: list[bool] = won, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": "t",
                                "Key": {"pk": {"S": "zone"}},
                                "UpdateExpression": "SET version = :next, winner = :who",
                                "ConditionExpression": "version = :seen",
                                "ExpressionAttributeValues": {
                                    ":seen": {"N": str(v)},
                                    ":next": {"N": str(v + 1)},
                                    ":who": {"S": str(i)},
                                },
                            }
                        },
                        {"Put": {"TableName": "t", "Item": {"pk": {"S": f"log#{v}#{i}"}}}},
                    ]
                )
                won[i] = True
            except ddb.exceptions.TransactionCanceledException:
                pass

        threads = [threading.Thread(target=bump, args=(i,)) for i in range(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        item = ddb.get_item(TableName="t", Key={"pk": {"S": "zone"}})["Item"]
        double += sum(won) > 1
        winner = item.get("winner", {}).get("S")
        if sum(won) == 1 and (winner is None or not won[int(winner)] or item["version"]["N"] != str(v + 1)):
            lost += 1
        if item["version"]["N"] != str(v + 1):  # resynchronize for the next round
            ddb.put_item(TableName="t", Item={"pk": {"S": "zone"}, "version": {"N": str(v + 1)}})
    return {"double": double, "lost": lost, "seconds": time.perf_counter() - began}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--racers", type=int, default=8)
    args = parser.parse_args()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[key] = "testing"
    for parallel in (True, False):
        with moto_server(parallel=parallel) as url:
            got = trial(url, args.rounds, args.racers)
        mode = "moto server as shipped" if parallel else "one lock per request"
        print(
            f"{mode}: {args.rounds} rounds x {args.racers} racers: {got['double']:.0f} rounds with two or "
            f"more winners, {got['lost']:.0f} with the winner's write lost ({got['seconds']:.1f} s)"
        )


if __name__ == "__main__":
    main()
