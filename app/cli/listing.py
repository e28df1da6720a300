"""Print a list of records: JSON (``--json``), or one line each with a message when there are none."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any


def print_records(records: Sequence[Any], as_json: bool, line: Callable[[Any], str], empty: str) -> None:
    if as_json:
        print(json.dumps([asdict(r) for r in records], indent=2))
        return
    for record in records:
        print(line(record))
    if not records:
        print(empty)
