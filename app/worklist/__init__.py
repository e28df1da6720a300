"""worklist (filled by its own issue)."""
