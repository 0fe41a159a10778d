#!/usr/bin/env bash
# Runs every test of the workspace, in release mode (the model tests are too slow in debug).
# Real-model tests need scripts/fetch-assets.sh first; wgpu tests need a Vulkan driver
# (lavapipe: apt-get install mesa-vulkan-drivers). Both are required, not skipped, here.
set -euo pipefail
cd "$(dirname "$0")/.."
export RF_REQUIRE_ASSETS="${RF_REQUIRE_ASSETS:-1}"
export RF_REQUIRE_WGPU="${RF_REQUIRE_WGPU:-1}"
cargo test --release --workspace --exclude rf-wasm
