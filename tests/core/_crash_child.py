"""Child process for the crash tests: import a folder into a cache, then close cleanly.

Usage: ``python -m tests.core._crash_child CACHE_ROOT FOLDER [BATCH_SIZE [POOL]]`` with ``TELERAD_CRASHPOINT``
set by the parent to be killed (SIGKILL) at that point. BATCH_SIZE (default 1: one commit per
instance) is the importer's group-commit size; POOL ``1``: files are staged by the worker pool.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.importer import import_paths
from app.store import Cache


def main() -> int:
    root, folder = Path(sys.argv[1]), Path(sys.argv[2])
    batch_size = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    parallel = len(sys.argv) > 4 and sys.argv[4] == "1"
    cache = Cache.open(root)
    summary = import_paths(cache, [folder], batch_size=batch_size, parallel=parallel)
    cache.close()
    print(json.dumps({"imported": summary.imported, "duplicates": summary.duplicates}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
