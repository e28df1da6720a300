"""Child process for the C-MOVE crash test: retrieve a study by C-MOVE into a cache through our SCP.

Usage: ``python -m tests.core._move_crash_child CACHE_ROOT SCP_PORT PEER_AET PEER_PORT STUDY_UID`` with
``TELERAD_CRASHPOINT=after_store_rsp:N`` set by the parent: SIGKILLed right after the N-th C-STORE answer.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.network.nodes import LocalAE, Node, NodeConfig
from app.network.retrieve import retrieve_study
from app.network.scp import StorageSCP
from app.network.sink import cache_sink
from app.store import Cache
from tests.core.net_peers import OUR_AET


def main() -> int:
    root, scp_port, peer_aet, peer_port, study = sys.argv[1:6]
    cfg = NodeConfig(local=LocalAE(OUR_AET, int(scp_port), "127.0.0.1"))
    node = Node("orthanc", peer_aet, "127.0.0.1", int(peer_port), "move")
    cfg.add(node)
    with Cache.open(Path(root)) as cache:
        sink = cache_sink(cache)
        with StorageSCP(cfg, sink) as scp:
            result = retrieve_study(node, OUR_AET, study, on_stored=sink, scp=scp, method="move")
    print(len(result.received))
    return 0


if __name__ == "__main__":
    sys.exit(main())
