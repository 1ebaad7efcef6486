"""Entry point for the Pulumi CLI (`pulumi preview -s <stack>`)."""

import pulumi

from cells.core.errors import ConfigError
from cells.infra.program import main

try:
    main()
except ConfigError as exc:
    # A user mistake: one clear message, no traceback.
    raise pulumi.RunError(str(exc)) from None
