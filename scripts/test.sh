#!/usr/bin/env bash
# Runs every test: the Rust workspace (release mode; the model tests are too slow in debug)
# and the browser tests in headless Chromium.
# Needs scripts/fetch-assets.sh (real models), a Vulkan driver (lavapipe: apt-get install
# mesa-vulkan-drivers) and scripts/build-wasm.sh (www/pkg); here they are required, not
# skipped. RF_BROWSER=0 skips the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# The one build dir every script uses (.ci/run and the quickstart too), so nothing builds twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reasonflux-web/target}"
export RF_REQUIRE_ASSETS="${RF_REQUIRE_ASSETS:-1}"
export RF_REQUIRE_WGPU="${RF_REQUIRE_WGPU:-1}"
cargo test --release --workspace
if [ "${RF_BROWSER:-1}" != 0 ]; then
  RF_WEBGPU="${RF_WEBGPU:-0}" scripts/test-browser.sh
fi
