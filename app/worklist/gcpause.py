"""Building 100,000 entries allocates far more objects than the cyclic GC's thresholds: each collection then
walks every one (2-3x the build time). Entries, summaries and state rows hold no cycles, so the GC waits; after,
what the block allocated joins the oldest generation at once (``gc.freeze`` + ``gc.unfreeze``: two list splices)
rather than being walked by the young collections that would follow (0.2 s at 100,000 studies), and is still
collected by full collections as any long-lived object is."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block (reference counting still frees everything); restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:  # nobody froze objects on purpose (pre-fork): theirs would be thawed
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()
