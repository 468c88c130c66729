#!/usr/bin/env bash
# Installs what Fangfan needs on a fresh Debian machine: Chromium for the browser
# tests, a virtual environment with the pinned Python packages, and bpmn-js from
# the npm registry. Each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Chromium for the browser tests, and a CJK font so that its screenshots show Chinese.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi wqy; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's chromium and fonts-wqy-microhei"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei \
      >/dev/null
  else
    echo "setup: run 'sudo apt-get install chromium fonts-wqy-microhei' first" >&2
  fi
fi

stamp=.venv/.installed
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: creating .venv with the pinned packages"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.lock
  .venv/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi

vendor=web/static/vendor
if [ ! -f "$vendor/.installed" ] || [ web/package-lock.json -nt "$vendor/.installed" ]; then
  echo "setup: installing bpmn-js from the npm registry"
  (cd web && npm ci --silent --no-audit --no-fund)
  mkdir -p "$vendor"
  cp web/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js "$vendor/"
  cp -r web/node_modules/bpmn-js/dist/assets "$vendor/"
  touch "$vendor/.installed"
fi
