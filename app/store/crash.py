"""Test-only crash points of the file store: ``TELERAD_CRASHPOINT=name:count`` (see app.tasks.killpoints)."""

from __future__ import annotations

from app.tasks.killpoints import from_env

ENV_VAR = "TELERAD_CRASHPOINT"
POINTS = ("after_temp_write", "after_rename", "before_commit", "after_commit")
crashpoint = from_env(ENV_VAR)
