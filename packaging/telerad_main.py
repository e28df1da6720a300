"""Entry point of the frozen (PyInstaller) workstation: the `telerad` command line.

``freeze_support`` must run first: the volume loader's forkserver and multiprocessing's
resource tracker re-execute this binary, and PyInstaller's hook dispatches those calls there.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from app.cli.main import main

    sys.exit(main())
