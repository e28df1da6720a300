"""`telerad find NODE [filters]`: C-FIND (or QIDO-RS with --dicomweb) at study, series or image level."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.context import node_arg, workstation

COLUMNS = {
    "study": ("StudyDate", "ModalitiesInStudy", "PatientID", "PatientName", "AccessionNumber",
              "StudyDescription", "NumberOfStudyRelatedInstances", "StudyInstanceUID"),
    "series": ("SeriesNumber", "Modality", "SeriesDescription", "NumberOfSeriesRelatedInstances",
               "SeriesInstanceUID"),
    "image": ("InstanceNumber", "SOPClassUID", "SOPInstanceUID"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node")
    parser.add_argument("--level", choices=["study", "series", "image"], default="study")
    parser.add_argument("--patient-name", default="", help="e.g. 'DOE^*'")
    parser.add_argument("--patient-id", default="")
    parser.add_argument("--accession", default="")
    parser.add_argument("--modality", default="")
    parser.add_argument("--date-from", default="", metavar="YYYYMMDD")
    parser.add_argument("--date-to", default="", metavar="YYYYMMDD")
    parser.add_argument("--description", default="", help="study description (wildcards allowed)")
    parser.add_argument("--study", default="", metavar="UID", help="study UID (series/image level)")
    parser.add_argument("--series", default="", metavar="UID", help="series UID (image level)")
    parser.add_argument("--dicomweb", action="store_true", help="query with QIDO-RS instead of C-FIND")
    parser.add_argument("--json", action="store_true")


def execute(args: argparse.Namespace) -> int:
    from app.network import netaudit
    from app.network.nodes import NodeError
    from app.network.query import Query, find
    from app.network.scu import NetworkError

    query = Query(args.patient_name, args.patient_id, args.accession, args.modality, args.date_from,
                  args.date_to, args.description, args.study, args.series)
    try:
        cfg, node = node_arg(args)
        if args.dicomweb:
            from app.network.dicomweb import DicomWebClient

            with DicomWebClient.for_node(node) as client:
                rows = client.search(query, args.level)
        else:
            rows = find(node, cfg.local.ae_title, query, args.level)
        outcome = 0
    except (NodeError, NetworkError, ValueError, OSError) as exc:
        print(f"telerad find: {exc}", file=sys.stderr)
        rows, outcome = [], 8
    with workstation(args) as ws:
        netaudit.query(ws.audit, node=args.node, level=args.level, keys=query.keys(), matches=len(rows),
                       outcome=outcome, user=ws.user)
    if outcome:
        return 1
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        cols = COLUMNS[args.level]
        print("\t".join(cols))
        for row in rows:
            print("\t".join(row.get(c, "") for c in cols))
    return 0
