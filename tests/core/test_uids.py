"""UID validation (PS3.5 9.1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.dicom.uids import is_valid_uid, uid_problem


@pytest.mark.parametrize("uid", ["0", "1.2.3", "1.2.840.10008.5.1.4.1.1.2", "2.25." + "9" * 59, "1.0.2"])
def test_valid(uid: str) -> None:
    assert is_valid_uid(uid)
    assert uid_problem(uid) is None


@pytest.mark.parametrize(
    "uid",
    ["", ".", "1.", ".1", "1..2", "01.2", "1.02", "1.2.a", "1.2 ", " 1.2", "1/2", "../1", "1.2\x00",
     "1.2" + "\u0661", "2.25." + "9" * 61, "1,2", "-1.2", "1.2.3\n"],
)
def test_invalid(uid: str) -> None:
    assert not is_valid_uid(uid)
    assert uid_problem(uid)


def test_non_strings_are_invalid() -> None:
    assert not is_valid_uid(None)
    assert not is_valid_uid(b"1.2.3")
    assert uid_problem(None) == "missing"


@settings(database=None)  # no example database written into the repo
@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=12))
def test_generated_uids_valid_iff_short_enough(components: list[int]) -> None:
    uid = ".".join(str(c) for c in components)
    assert is_valid_uid(uid) == (len(uid) <= 64)


@settings(database=None)
@given(st.text(max_size=80))
def test_accepted_text_is_only_digits_and_dots(text: str) -> None:
    if is_valid_uid(text):
        assert set(text) <= set("0123456789.") and len(text) <= 64
        assert all(part == "0" or not part.startswith("0") for part in text.split("."))


@pytest.mark.parametrize("uid", ["1.2.01", "1.2.840.0123", "1." + "2" * 100])
def test_device_defects_are_tolerated_but_not_conformant(uid: str) -> None:
    from app.dicom.uids import is_tolerated_uid

    assert is_tolerated_uid(uid) and not is_valid_uid(uid)


@pytest.mark.parametrize("uid", ["", "1..2", "1.2.", "../x", "1.2.a", "1/2", "1." + "2" * 130, "1.2\x00"])
def test_unsafe_uids_are_not_tolerated(uid: str) -> None:
    from app.dicom.uids import is_tolerated_uid

    assert not is_tolerated_uid(uid)
