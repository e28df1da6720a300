"""pytest fixtures for the network tests (load with ``pytest_plugins = ["tests.core.net_fixtures"]``).

One Orthanc per session, loaded once with the 140-slice CT and the tilted CT (MR on demand).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.core.net_peers import OUR_AET, Orthanc, Study, free_port, study_in


@pytest.fixture(scope="session")
def ct_study(shared_data: Path) -> Study:
    return study_in(shared_data / "ct" / "philips_phantom_study1_1mm")


@pytest.fixture(scope="session")
def tilted_study(shared_data: Path) -> Study:
    return study_in(shared_data / "ct" / "philips_phantom_study2_tilted")


@pytest.fixture(scope="session")
def mr_study(shared_data: Path) -> Study:
    return study_in(shared_data / "mr" / "siemens_sag_t1_3yo_192slices")


@pytest.fixture(scope="session")
def scp_port() -> int:
    """The port our Storage SCP uses in tests (Orthanc knows it as C-MOVE destination)."""
    return free_port()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory, ct_study: Study, tilted_study: Study,
            scp_port: int) -> Iterator[Orthanc]:
    """A real Orthanc loaded with both CT studies; our AE is a known modality."""
    peer = Orthanc(tmp_path_factory.mktemp("orthanc"), modalities={"telerad": [OUR_AET, "127.0.0.1", scp_port]})
    peer.start()
    try:
        peer.upload(ct_study.files + tilted_study.files)
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def orthanc_mr(orthanc: Orthanc, mr_study: Study) -> Orthanc:
    """The session Orthanc, with the MR study loaded too (only tests that need it pay for it)."""
    orthanc.upload(mr_study.files)
    return orthanc


@pytest.fixture
def net_config(orthanc: Orthanc, scp_port: int):  # type: ignore[no-untyped-def]
    """NodeConfig: us (TELERAD on ``scp_port``) and the Orthanc node ``orthanc``."""
    from app.network.nodes import LocalAE, Node, NodeConfig

    cfg = NodeConfig(local=LocalAE(OUR_AET, scp_port, "127.0.0.1"))
    cfg.add(Node("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port, "get", orthanc.dicomweb_url))
    return cfg
