#!/usr/bin/env bash
# Builds the browser engine into www/pkg/, vendors KaTeX into www/vendor/katex/ and writes the
# template bundle to www/templates.rfb.
#
#   scripts/build-wasm.sh            # full build
#   SKIP_WASM_OPT=1 scripts/build-wasm.sh   # skip wasm-opt (faster iteration)
#
# Environment: CARGO_TARGET_DIR (default: ~/.cache/reasonflux-web/target), WASM_OPT_LEVEL (default -O3; -Oz made the
# CPU path ~3x slower in our measurements).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# Exported, so cargo builds where RAW below looks (the one target dir of every script).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/reasonflux-web/target}
TARGET_DIR=$CARGO_TARGET_DIR
OPT_LEVEL=${WASM_OPT_LEVEL:--O3}
OUT=$ROOT/www/pkg

# The wasm-bindgen CLI must match the crate's pinned version exactly.
WB_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' crates/rf-wasm/Cargo.toml)
[ -n "$WB_VERSION" ] || { echo "cannot read the wasm-bindgen version from crates/rf-wasm/Cargo.toml" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  echo "installing wasm-bindgen-cli $WB_VERSION (a few minutes)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/katex ]; then
  npm ci --no-audit --no-fund
fi

echo "== cargo build (wasm32, profile wasm)"
cargo build --target wasm32-unknown-unknown --profile wasm -p rf-wasm
RAW=$TARGET_DIR/wasm32-unknown-unknown/wasm/rf_wasm.wasm
# wasm-ld wraps every export in a call to the static constructors unless the module calls
# `__wasm_call_ctors` itself (rf-wasm's start function does); wrapped, each call from JavaScript
# re-ran them all, which once made a template search three times slower.
if grep -q 'command_export' "$RAW"; then
  echo "$RAW: exports are wrapped in __wasm_call_ctors (.command_export): call it once at start" >&2
  exit 1
fi

echo "== wasm-bindgen"
rm -rf "$OUT"
mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --out-dir "$OUT" "$RAW"
BG=$OUT/rf_wasm_bg.wasm
size_of() { stat -c %s "$1"; }
gz_of() { gzip -9 -c "$1" | wc -c; }
BG_RAW=$(size_of "$BG"); BG_GZ=$(gz_of "$BG")

if [ -z "${SKIP_WASM_OPT:-}" ]; then
  echo "== wasm-opt $OPT_LEVEL (npm binaryen $(node_modules/.bin/wasm-opt --version | awk '{print $3}'))"
  # The feature flags match what rustc emits for wasm32-unknown-unknown.
  node_modules/.bin/wasm-opt "$OPT_LEVEL" --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
    "$BG" -o "$BG.opt"
  mv "$BG.opt" "$BG"
fi

echo "== KaTeX"
rm -rf www/vendor/katex
mkdir -p www/vendor/katex
cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css node_modules/katex/dist/katex.mjs www/vendor/katex/
cp -r node_modules/katex/dist/fonts www/vendor/katex/fonts
cp node_modules/katex/LICENSE www/vendor/katex/LICENSE

echo "== template bundle"
# With the sentence encoder fetched (scripts/fetch-assets.sh minilm) the bundle carries the
# template embeddings of dense retrieval; without it, the lexical index only.
if [ -f assets/all-MiniLM-L6-v2/model.safetensors ]; then
  cargo run --release -q -p rf-cli -- templates build --encoder assets/all-MiniLM-L6-v2 --out www/templates.rfb
else
  cargo run --release -q -p rf-templates --example write_bundle -- templates www/templates.rfb
fi

echo
echo "rustc output:           $(size_of "$RAW") bytes"
echo "after wasm-bindgen:     $BG_RAW bytes ($BG_GZ gzip -9)"
echo "www/pkg/rf_wasm_bg.wasm: $(size_of "$BG") bytes raw, $(gz_of "$BG") bytes gzip -9"
echo "www/templates.rfb:      $(size_of www/templates.rfb) bytes (+ $(size_of www/templates.examples.rfb) bytes of worked examples, loaded after it)"
