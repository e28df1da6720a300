#!/usr/bin/env bash
# macOS recipe: Telerad Workstation.app and a .dmg. Runs on macOS only (needs PyInstaller's macOS
# bootloader, iconutil, hdiutil; codesign/notarytool for distribution). Not buildable on the Linux CI.
# Usage: packaging/macos/build-dmg.sh [OUT_DIR]   (PYTHON=... to choose the interpreter; default .venv)
# Signing: set CODESIGN_IDENTITY="Developer ID Application: ..." and NOTARY_PROFILE=<notarytool profile>.
set -euo pipefail
[ "$(uname)" = Darwin ] || { echo "macOS only (see packaging/README.md)" >&2; exit 1; }
root=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
out=${1:-$root/dist}
cd "$root"
version=$("$py" -c 'import app; print(app.__version__)')

# 1. .icns from the PNG icon
iconset=$(mktemp -d)/telerad.iconset
mkdir -p "$iconset"
for s in 16 32 128 256 512; do
  sips -z $s $s resources/icons/telerad.png --out "$iconset/icon_${s}x${s}.png" >/dev/null
  sips -z $((s * 2)) $((s * 2)) resources/icons/telerad.png --out "$iconset/icon_${s}x${s}@2x.png" >/dev/null
done
iconutil -c icns "$iconset" -o "$out/telerad.icns"

# 2. onedir bundle, then the .app around it (TELERAD_MACOS_APP=1 makes the spec add a BUNDLE step)
TELERAD_MACOS_APP=1 TELERAD_ICNS="$out/telerad.icns" \
  "$py" -m PyInstaller --noconfirm --distpath "$out/bundle" --workpath "$out/work" packaging/telerad.spec
app="$out/bundle/Telerad Workstation.app"

# 3. sign (hardened runtime) and notarize when an identity is configured
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$app"
fi

# 4. the disk image: the .app plus a link to /Applications
stage=$(mktemp -d)
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="$out/telerad-$version-macos-$(uname -m).dmg"
hdiutil create -volname "Telerad Workstation $version" -srcfolder "$stage" -ov -format UDZO "$dmg"
if [ -n "${CODESIGN_IDENTITY:-}" ] && [ -n "${NOTARY_PROFILE:-}" ]; then
  codesign --sign "$CODESIGN_IDENTITY" --timestamp "$dmg"
  xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$dmg"
fi
echo "wrote $dmg"
