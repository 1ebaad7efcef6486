"""`python -m cells`: the command line (`cells.cli.main`)."""

import os
import sys

from cells.cli.main import main

if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: freeing the cloud SDKs' type tables takes seconds and does nothing.
    os._exit(code)
