#!/usr/bin/env bash
# Rebuild the bundled demo studies from ../shared/data (see PROVENANCE.md). Needs dcmtk (dcmcjpls).
set -euo pipefail
here=$(cd "$(dirname "$0")/../resources/samples" && pwd)
data=${1:-$here/../../../shared/data}
rm -rf "$here/ct-head-phantom" "$here/cr-chest" "$here/mg-screening" "$here/us-abdomen" "$here/mr-enhanced"
mkdir -p "$here/ct-head-phantom"
for f in "$data"/ct/philips_phantom_study1_1mm/I*; do
  dcmcjpls --encode-lossless "$f" "$here/ct-head-phantom/$(basename "$f").dcm"   # lossless: same SOP Instance UID
done
install -D -m 644 "$data/cr_dx/RG3_J2KR.dcm" "$here/cr-chest/RG3_J2KR.dcm"
install -D -m 644 "$data/mg/GH133.dcm" "$here/mg-screening/GH133.dcm"
install -D -m 644 "$data/us/US1_UNCR.dcm" "$here/us-abdomen/US1_UNCR.dcm"
install -D -m 644 "$data/mr/enhanced_philips/IM-0001-0170-0001.dcm" "$here/mr-enhanced/IM-0001-0170-0001.dcm" 2>/dev/null \
  || install -D -m 644 "$(ls "$data"/mr/enhanced_philips/* | head -1)" "$here/mr-enhanced/enhanced.dcm"
du -sh "$here"
