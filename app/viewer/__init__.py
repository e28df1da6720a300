"""viewer (filled by its own issue)."""
