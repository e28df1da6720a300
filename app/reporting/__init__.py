"""reporting (filled by its own issue)."""
