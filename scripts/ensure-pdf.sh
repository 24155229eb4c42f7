#!/usr/bin/env bash
# Install what WeasyPrint needs to write the PDF fiches (Debian's Pango, HarfBuzz's subset
# library, fontconfig and the DejaVu fonts), where the machine allows it (root or passwordless
# sudo, apt-get present). Idempotent and quiet when everything is there.
# Never fails: without these libraries the dashboard offers the HTML fiche only, with a French
# note instead of the PDF button, and the PDF tests are skipped with their reason.
set -u
PACKAGES="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-dejavu-core"

have_all() {
  local libs
  libs="$(/sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null)"
  for lib in libpango-1.0.so.0 libpangoft2-1.0.so.0 libharfbuzz-subset.so.0 libfontconfig.so.1; do
    grep -q "$lib" <<<"$libs" || return 1
  done
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || return 1
}

if have_all; then
  echo "pdf: Pango, HarfBuzz subset, fontconfig and DejaVu fonts present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "pdf: Pango or the DejaVu fonts are missing and apt-get is unavailable: PDF fiches off, their tests skipped (install $PACKAGES or your system's equivalent)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "pdf: Pango or the DejaVu fonts are missing and no root rights to install them: PDF fiches off, their tests skipped (apt-get install $PACKAGES)"
  exit 0
fi
echo "pdf: installing Debian's $PACKAGES for the PDF fiches..."
export DEBIAN_FRONTEND=noninteractive
LOG=/tmp/atlas-pdf-install.log
# shellcheck disable=SC2086  # the package list is meant to split
if $SUDO apt-get install -y -q --no-install-recommends $PACKAGES >"$LOG" 2>&1 \
   || { $SUDO apt-get update -q >>"$LOG" 2>&1 \
        && $SUDO apt-get install -y -q --no-install-recommends $PACKAGES >>"$LOG" 2>&1; }; then
  if have_all; then
    echo "pdf: installed"
  else
    echo "pdf: installed, but a library is still not found (see $LOG): PDF tests will be skipped"
  fi
else
  echo "pdf: the libraries could not be installed (see $LOG): PDF fiches off, their tests skipped"
  tail -5 "$LOG"
fi
exit 0
