"""`telerad export --deidentify STUDY_UID (DEST | --to NODE)`: a PS3.15 Annex E de-identified copy to a folder,
a ZIP, DICOMDIR media (``--dicomdir``), or C-STORE to a consultant's node."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.context import workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deidentify", action="store_true", required=True,
                        help="apply the PS3.15 Annex E Basic Application Level Confidentiality Profile")
    parser.add_argument("study_uid", metavar="STUDY_UID")
    parser.add_argument("destination", metavar="DEST", type=Path, nargs="?",
                        help="a new folder, or a file ending in .zip (not with --to)")
    parser.add_argument("--dicomdir", action="store_true", help="write DEST as DICOMDIR media (PS3.10 file set)")
    parser.add_argument("--to", metavar="NODE", help="C-STORE the de-identified copy to this configured node")
    parser.add_argument("--series", action="append", metavar="SERIES_UID", help="only these series (repeatable)")
    parser.add_argument("--retain-dates", action="store_true",
                        help="Retain Longitudinal Temporal Information, Modified Dates option (dates shifted)")
    parser.add_argument("--retain-device", action="store_true", help="Retain Device Identity option")
    parser.add_argument("--clean-descriptors", action="store_true",
                        help="Clean Descriptors option (descriptions kept, the patient's name and ID removed)")
    parser.add_argument("--confirm-burned-in", action="store_true",
                        help="export even images marked Burned In Annotation = YES (their pixels are not cleaned)")


def execute(args: argparse.Namespace) -> int:
    from app.export import DeidOptions

    options = DeidOptions(retain_longitudinal=args.retain_dates, retain_device_identity=args.retain_device,
                          clean_descriptors=args.clean_descriptors, confirm_burned_in=args.confirm_burned_in)
    if (args.destination is None) == (args.to is None) or (args.to and args.dicomdir):
        print("telerad export: give DEST (a folder, a .zip, or a folder with --dicomdir) or --to NODE",
              file=sys.stderr)
        return 2
    with workstation(args) as ws:
        try:
            result = ws.export_deidentified(args.study_uid, args.destination, options, series_uids=args.series,
                                            dicomdir=args.dicomdir, node=args.to)
        except (OSError, ValueError) as exc:
            print(f"telerad export: {exc}", file=sys.stderr)
            return 1
    if result.node:
        print(f"sent {result.sent} of {result.files} de-identified instance(s) in {result.series} series to "
              f"{result.node}")
        for reason in result.failed:
            print(f"not stored: {reason}", file=sys.stderr)
    else:
        print(f"exported {result.files} de-identified instance(s) in {result.series} series to "
              f"{result.destination}" + (" (DICOMDIR media)" if args.dicomdir else ""))
    if result.skipped:
        print(f"left out {result.skipped} encapsulated document(s) (a PDF report cannot be de-identified; "
              "the structured report is included)")
    return 1 if result.node and result.failed else 0
