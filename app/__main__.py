"""`python -m app` runs the `telerad` command line."""

import sys

from app.cli.main import main

sys.exit(main())
