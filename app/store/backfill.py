"""After migrating an older index: fill the study columns it did not have from one stored file per study."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlite_utils

from app.dicom.header import read_header
from app.store.files import resolve_inside
from app.store.index import fill_request_columns

log = logging.getLogger(__name__)

_FIRST_FILES = """SELECT st.id, (SELECT i.path FROM instances i JOIN series se ON se.id = i.series_ref
                   WHERE se.study_ref = st.id AND i.state = 'ok' ORDER BY i.id LIMIT 1)
                  FROM studies st WHERE st.deleting = 0"""


def backfill_request_columns(db: sqlite_utils.Database, root: Path) -> int:
    """Set priority/age/service columns from the first present file of each study; return studies read."""
    filled = 0
    with db.atomic():
        for study_ref, rel in db.execute(_FIRST_FILES).fetchall():
            if rel is None:
                continue
            try:
                header = read_header(resolve_inside(root, rel))
            except Exception as exc:  # a damaged or missing file must not stop the cache from opening
                log.debug("backfill: cannot read a file of study row %s: %s", study_ref, type(exc).__name__)
                continue
            fill_request_columns(db, int(study_ref), header)
            filled += 1
    if filled:
        log.info("filled request columns of %d studies from their files", filled)
    return filled
