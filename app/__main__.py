"""`python -m app` runs the `telerad` command line."""

import sys

from app.cli.main import main

if __name__ == "__main__":  # guard: multiprocessing workers re-import the main module
    sys.exit(main())
