#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver for the end-to-end browser tests,
# where the machine allows it (root or passwordless sudo, apt-get present).
# Never fails: without a browser the browser tests are skipped with their reason.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  echo "chromium: $(chromium --version 2>/dev/null || echo present)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium absent and apt-get unavailable: browser tests will be skipped"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "chromium absent and no root rights to install it: browser tests will be skipped"
  exit 0
fi
echo "installing Debian's chromium and chromium-driver for the browser tests..."
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver >/tmp/atlas-chromium-install.log 2>&1 \
   || { $SUDO apt-get update -q >>/tmp/atlas-chromium-install.log 2>&1 \
        && $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver >>/tmp/atlas-chromium-install.log 2>&1; }; then
  echo "chromium: $(chromium --version 2>/dev/null)"
else
  echo "chromium could not be installed (see /tmp/atlas-chromium-install.log): browser tests will be skipped"
  tail -5 /tmp/atlas-chromium-install.log
fi
exit 0
