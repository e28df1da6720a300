#!/usr/bin/env bash
# Build the Linux installers of Telerad Workstation into OUT_DIR (default: dist/):
#   bundle/telerad/                       PyInstaller onedir bundle (packaging/telerad.spec)
#   telerad_<version>_<arch>.deb          /opt/telerad, /usr/bin/telerad, .desktop entry, icons
#   telerad-<version>-linux-<arch>.tar.zst  the bundle as telerad-<version>/
#   Telerad.AppDir/                       ready for `appimagetool Telerad.AppDir` (not available here)
# The version comes from app/__init__.py (__version__), the one place it is defined.
# Usage: packaging/build.sh [OUT_DIR]     (PYTHON=... to use another interpreter than .venv/bin/python)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
out=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
started=$SECONDS
cd "$root"

version=$("$py" -c 'import app; print(app.__version__)')
arch=$(dpkg --print-architecture)
"$py" -m PyInstaller --version >/dev/null 2>&1 || {
  echo "PyInstaller is missing: $py -m pip install pyinstaller (see packaging/README.md)" >&2; exit 1; }
for tool in dpkg-deb zstd readelf strip file ldd icupkg genccode gcc; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

echo "== PyInstaller bundle (telerad $version)"
rm -rf "$out/bundle"
"$py" -m PyInstaller --noconfirm --log-level WARN --distpath "$out/bundle" --workpath "$out/work" packaging/telerad.spec
bundle=$out/bundle/telerad
[ "$(cat "$bundle/VERSION")" = "$version" ] || { echo "bundle VERSION mismatch" >&2; exit 1; }

echo "== system libraries the bundle needs and does not carry (ldd)"
packaging/system-libs.sh "$bundle" > "$out/system-libs.txt"
if grep -qE '^(MISSING|UNKNOWN)' "$out/system-libs.txt"; then
  grep -E '^(MISSING|UNKNOWN)' "$out/system-libs.txt" >&2; echo "unresolved libraries (above)" >&2; exit 1
fi
# Loaded at run time with dlopen, so ldd cannot see them: Mesa's GLX/EGL vendor libraries and
# DRI (llvmpipe) drivers behind libglvnd, libXcursor (libX11 loads it for cursor themes), and the
# fontconfig configuration the bundled libfontconfig reads from /etc/fonts; libpq5 for psycopg (ctypes).
runtime="libgl1-mesa-dri libglx-mesa0 libegl-mesa0 libxcursor1 fontconfig-config libpq5"
glibc=$(dpkg-query -W -f='${Version}' libc6 | sed 's/-.*//')
depends=$( { cut -f1 "$out/system-libs.txt"; printf '%s\n' $runtime; } | sort -u \
  | sed "s/^libc6\$/libc6 (>= $glibc)/" | paste -sd, | sed 's/,/, /g')
echo "Depends: $depends"

echo "== Debian package"
pkgroot=$out/deb/telerad_${version}_$arch
rm -rf "$out/deb"
mkdir -p "$pkgroot/opt" "$pkgroot/usr/bin" "$pkgroot/usr/share/applications" "$pkgroot/DEBIAN" \
  "$pkgroot/usr/share/icons/hicolor/256x256/apps" "$pkgroot/usr/share/icons/hicolor/scalable/apps" \
  "$pkgroot/usr/share/doc/telerad"
cp -al "$bundle" "$pkgroot/opt/telerad"
ln -s /opt/telerad/telerad "$pkgroot/usr/bin/telerad"
install -m 644 packaging/linux/telerad.desktop "$pkgroot/usr/share/applications/telerad.desktop"
install -m 644 resources/icons/telerad.png "$pkgroot/usr/share/icons/hicolor/256x256/apps/telerad.png"
install -m 644 resources/icons/telerad.svg "$pkgroot/usr/share/icons/hicolor/scalable/apps/telerad.svg"
printf 'Telerad Workstation %s. Proprietary.\nThird-party notices: /opt/telerad/licenses/THIRD-PARTY-NOTICES.txt\n' \
  "$version" > "$pkgroot/usr/share/doc/telerad/copyright"
size_kb=$(du -sk --exclude=DEBIAN "$pkgroot" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size_kb/" -e "s/@DEPENDS@/$depends/" \
  packaging/linux/control.in > "$pkgroot/DEBIAN/control"
(cd "$pkgroot" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | xargs -0 md5sum > DEBIAN/md5sums)
deb=$out/telerad_${version}_$arch.deb
dpkg-deb --root-owner-group -Zzstd --build "$pkgroot" "$deb" >/dev/null

echo "== tar.zst"
tarball=$out/telerad-$version-linux-$arch.tar.zst
tar -C "$out/bundle" --owner=0 --group=0 --numeric-owner --transform "s,^telerad,telerad-$version," -cf - telerad \
  | zstd -q -T0 -10 -f -o "$tarball"

echo "== AppDir (appimagetool is not available here: run 'appimagetool Telerad.AppDir' where it is)"
appdir=$out/Telerad.AppDir
rm -rf "$appdir"
mkdir -p "$appdir/usr/lib" "$appdir/usr/share/applications" "$appdir/usr/share/icons/hicolor/256x256/apps"
cp -al "$bundle" "$appdir/usr/lib/telerad"
install -m 755 packaging/linux/AppRun "$appdir/AppRun"
install -m 644 packaging/linux/telerad.desktop "$appdir/telerad.desktop"
install -m 644 packaging/linux/telerad.desktop "$appdir/usr/share/applications/telerad.desktop"
install -m 644 resources/icons/telerad.png "$appdir/telerad.png"
install -m 644 resources/icons/telerad.png "$appdir/usr/share/icons/hicolor/256x256/apps/telerad.png"
ln -s telerad.png "$appdir/.DirIcon"

rm -rf "$out/work"
echo "== done in $((SECONDS - started)) s"
printf '  %-48s %s\n' "bundle (unpacked)" "$(du -sh "$bundle" | cut -f1)" \
  "$(basename "$deb")" "$(du -h "$deb" | cut -f1)" "$(basename "$tarball")" "$(du -h "$tarball" | cut -f1)" \
  "Telerad.AppDir" "$(du -sh "$appdir" | cut -f1) (hard links to the bundle)"
