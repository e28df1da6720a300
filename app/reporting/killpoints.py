"""Test-only kill points for the outbox and signing: ``TELERAD_REPORT_KILLPOINT=name:count``.

Points: ``outbox_before_send`` (row claimed, nothing sent), ``outbox_after_send`` (peer has the file,
row not yet marked sent), ``sign_before_finalize`` (files written, report still unsigned).
See app.tasks.killpoints.
"""

from __future__ import annotations

from app.tasks.killpoints import from_env

ENV_VAR = "TELERAD_REPORT_KILLPOINT"
POINTS = ("outbox_before_send", "outbox_after_send", "sign_before_finalize")
killpoint = from_env(ENV_VAR)
