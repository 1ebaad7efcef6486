"""The MyARK guardrails policy pack: `pulumi preview -s eu-central-1 --policy-pack policy`.

The policies live in `cells.guardrails.policies`, where the offline plan (`python -m cells plan`) runs the
very same objects; this entry point only serves them to the Pulumi engine. Constructing the
`PolicyPack` starts the analyzer's gRPC server and blocks until the engine is done.
"""

import sys
from pathlib import Path

# The pack runs from policy/; the rules import the project's own modules (cells.*).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from cells.guardrails.policies import ALL_POLICIES

PolicyPack(name="myark-guardrails", policies=ALL_POLICIES)
