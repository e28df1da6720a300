"""network (filled by its own issue)."""
