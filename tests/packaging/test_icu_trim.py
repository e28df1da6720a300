"""packaging/icu_trim.py: which ICU data items stay, and a real trim of the venv's Qt ICU library."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO

sys.path.insert(0, str(REPO / "packaging"))
import icu_trim  # noqa: E402


@pytest.mark.parametrize("item", ["root.res", "en.res", "en_GB.res", "en_US_POSIX.res", "pool.res", "res_index.res",
                                  "coll/root.res", "coll/ucadata.icu", "coll/res_index.res", "zone/en.res",
                                  "zone/tzdbNames.res", "zoneinfo64.res", "metaZones.res", "supplementalData.res",
                                  "likelySubtags.res", "cnvalias.icu", "nfkc.nrm", "uts46.nrm", "unames.icu"])
def test_kept(item: str) -> None:
    assert icu_trim.keep(item)


@pytest.mark.parametrize("item", ["de.res", "sv_SE.res", "yue_Hant_HK.res", "coll/de.res", "coll/de_.res",
                                  "coll/de__PHONEBOOK.res", "zone/fr.res", "brkitr/cjdict.dict", "curr/en.res",
                                  "lang/en.res", "region/en.res", "translit/root.res", "unit/en.res", "rbnf/en.res",
                                  "ibm-1047_P100-1995.cnv"])
def test_dropped(item: str) -> None:
    assert not icu_trim.keep(item)


def qt_icu_data() -> Path:
    import PySide6

    found = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    assert found, "PySide6 carries no libicudata"
    return found[0]


def test_trim_library_keeps_root_and_english(tmp_path: Path) -> None:
    for tool in ("icupkg", "genccode", "gcc", "readelf"):
        assert shutil.which(tool), f"{tool} missing (Debian: icu-devtools, gcc, binutils; `make system-deps`)"
    library = tmp_path / qt_icu_data().name
    shutil.copyfile(qt_icu_data(), library)
    before, after = icu_trim.trim_library(library)
    assert after < before / 5, (before, after)
    major = library.name.rsplit(".", 1)[1]
    blob = tmp_path / f"icudt{major}l.dat"
    icu_trim.extract_data(library, f"icudt{major}_dat", blob)
    items = set(subprocess.run(["icupkg", "-l", str(blob)], capture_output=True, text=True, check=True).stdout.split())
    assert {"root.res", "en.res", "coll/root.res", "coll/ucadata.icu", "zoneinfo64.res", "zone/en.res"} <= items
    assert not {"de.res", "coll/sv.res", "brkitr/cjdict.dict"} & items
    assert all(icu_trim.keep(item) for item in items)
    soname = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True, check=True).stdout
    assert f"[{library.name}]" in soname  # same SONAME: Qt's libicuuc finds it
