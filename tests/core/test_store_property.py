"""Property: whatever the SOP Instance UID text, a stored file stays inside the cache root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.dicom.uids import is_tolerated_uid
from app.store import Cache
from app.store.files import legacy_object_relpath, object_relpath
from tests.core._store_factory import make_dataset, replace_sop_uid, to_bytes

PLACEHOLDER = "1.2.826.0.1.3680043.8.498.424242"
_TEMPLATE = to_bytes(make_dataset(sop_uid=PLACEHOLDER, study_uid="1.2.3", series_uid="1.2.3.1"))

UID_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="0123456789./\\\x00 ", max_size=80),
    st.sampled_from(["../../etc/passwd", "/abs/path", "..", ".", "1.2.3/../../x", "1.2\x00.3", "ä.1"]),
    st.lists(st.integers(0, 10**9), min_size=1, max_size=10).map(lambda c: ".".join(map(str, c))),
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cache]:
    c = Cache.open(tmp_path_factory.mktemp("prop") / "cache")
    yield c
    c.close()


def _inside(cache: Cache, path: Path) -> bool:
    return path.resolve().is_relative_to(cache.root)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(uid=UID_TEXT)
@example(uid="1.2.840.99")
@example(uid="../" * 30)
def test_store_path_stays_inside_root(cache: Cache, uid: str) -> None:
    data = replace_sop_uid(_TEMPLATE, PLACEHOLDER, uid.encode("utf-8"))
    result = cache.store_bytes(data)
    if result.status == "rejected":
        assert result.reason
        return
    stored = result.sop_instance_uid
    assert stored is not None and is_tolerated_uid(stored)
    path = cache.root / object_relpath(stored, "1.2.3")
    assert _inside(cache, path) and path.is_file()
    for (rel,) in cache.db.execute("SELECT path FROM instances"):
        assert _inside(cache, cache.root / rel)
    outside = [p for p in cache.root.parent.rglob("*") if not p.resolve().is_relative_to(cache.root)]
    assert outside == []


@settings(database=None)
@given(uid=UID_TEXT)
def test_object_relpath_only_for_tolerated_uids(uid: str) -> None:
    for make in (lambda u: object_relpath(u, "1.2.3"), lambda u: object_relpath("1.2.3", u), legacy_object_relpath):
        try:
            rel = make(uid)
        except ValueError:
            assert not is_tolerated_uid(uid)
            continue
        assert is_tolerated_uid(uid)
        assert rel.parts[0] == "objects" and len(rel.parts) == 4 and ".." not in rel.parts
