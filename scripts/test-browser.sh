#!/usr/bin/env bash
# Browser tests: headless Chromium (Debian package) driven by playwright-core.
# Needs www/pkg (scripts/build-wasm.sh) and assets/SmolLM2 (scripts/fetch-assets.sh smollm2).
#   RF_WEBGPU=0  skip the (slow, SwiftShader) WebGPU run
#   RF_FULL=1    also run ReasonFlux with the real SmolLM2 navigator
#   RF_ONLY=a,b  run only the named tests
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null 2>&1; then
  echo "installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then apt-get install -y chromium; else sudo apt-get install -y chromium; fi
fi
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
[ -f www/pkg/rf_wasm_bg.wasm ] || { echo "www/pkg is missing: run scripts/build-wasm.sh first" >&2; exit 1; }
[ -f www/templates.rfb ] && [ -f www/templates.examples.rfb ] || { echo "www/templates.rfb or its worked examples are missing: run scripts/build-wasm.sh first" >&2; exit 1; }
[ -f assets/SmolLM2-135M-Instruct.Q4_1.gguf ] || scripts/fetch-assets.sh smollm2

exec node tests/browser/solver.test.mjs
