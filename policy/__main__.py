"""The MyARK guardrails policy pack: `pulumi preview -s eu-central-1 --policy-pack policy`.

The policies live in `cells.guardrails.policies` (one module per theme, `pack.ALL_POLICIES` in
order), where the offline plan (`python -m cells plan`) runs the very same objects; this entry point
only serves them to the Pulumi engine. Constructing the `PolicyPack` starts the analyzer's gRPC
server and blocks until the engine is done. The engine runs this file as `__main__`
(`python -m pulumi.policy` -> `runpy.run_path(<pack dir>, run_name="__main__")`); imported under
any other name (a test), it only defines what it would serve.
"""

import sys
from pathlib import Path

# The pack runs from policy/; the rules import the project's own modules (cells.*).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from cells.guardrails.policies.pack import ALL_POLICIES

PACK_NAME = "myark-guardrails"

if __name__ == "__main__":
    PolicyPack(name=PACK_NAME, policies=ALL_POLICIES)
