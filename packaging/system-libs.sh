#!/usr/bin/env bash
# The system libraries a bundle needs and does not carry, with the Debian packages that provide them.
# Every ELF file is run through ldd with the bundle's own library folders first (as at run time);
# what resolves outside the bundle is a system dependency, what does not resolve is MISSING.
# Serial on purpose: parallel ldd outputs interleave in the middle of lines.
# Usage: packaging/system-libs.sh BUNDLE_DIR   ->  "package<TAB>soname<TAB>path" lines, sorted
set -euo pipefail
bundle=$(cd "$1" && pwd)
libpath=$(find "$bundle" -type f -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
export LD_LIBRARY_PATH=$libpath
find "$bundle" -type f \( -name '*.so*' -o -perm -u+x \) -print0 \
  | xargs -0 -n 64 file -N -F $'\t' | awk -F'\t' '/ELF .*(shared object|executable)/ {print $1}' \
  | xargs -d '\n' -n 64 sh -c 'ldd "$@" 2>/dev/null; true' ldd \
  | awk '/=>/ {print $1, $3}' | sort -u \
  | while read -r soname path; do
      case $path in
        "$bundle"/*) continue ;;
        not) printf 'MISSING\t%s\t-\n' "$soname"; continue ;;
      esac
      real=$(readlink -f "$path")
      pkg=$( { dpkg -S "$path" || dpkg -S "$real" || dpkg -S "${real#/usr}" || true; } 2>/dev/null \
             | awk -F: 'NR == 1 {print $1}')  # awk reads all: no SIGPIPE under pipefail
      printf '%s\t%s\t%s\n' "${pkg:-UNKNOWN}" "$soname" "$path"
    done | sort -u
