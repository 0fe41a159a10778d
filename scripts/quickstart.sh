#!/usr/bin/env bash
# From a fresh clone to the solver page: fetch the models, build the CLI and the browser engine,
# check the CLI with one real solve, then serve the page until Ctrl-C.
#
#   scripts/quickstart.sh                     # … and serve http://localhost:8080
#   scripts/quickstart.sh --port 9000         # another port (PORT=9000 works too)
#   scripts/quickstart.sh --cli "problem"     # only solve in the terminal, no page
#
# A second run skips every finished step and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reasonflux-web/target}"

port="${PORT:-8080}"
cli_problem=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="${2:?--port needs a number}"; shift 2 ;;
    --cli) cli_problem="${2:?--cli needs a problem text}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

step() { echo; echo "== $*"; }
# True when $1 exists and nothing under the given sources is newer.
up_to_date() {
  local out="$1"; shift
  [ -e "$out" ] && [ -z "$(find "$@" -newer "$out" -type f -print -quit 2>/dev/null)" ]
}

command -v unzip >/dev/null || { echo "unzip is needed: apt-get install -y unzip" >&2; exit 1; }
command -v cargo >/dev/null || { echo "cargo is needed: https://rustup.rs (the stable toolchain; scripts/build-wasm.sh adds the wasm32 target)" >&2; exit 1; }
[ -n "$cli_problem" ] || command -v node >/dev/null || { echo "node is needed to serve the page: apt-get install -y nodejs npm" >&2; exit 1; }

step "models (SmolLM2-135M, 98 MB; Qwen2.5-Coder-0.5B, 491 MB; sha256-checked, kept in assets/)"
scripts/fetch-assets.sh smollm2 qwen05 qwen-tokenizer

bin="$CARGO_TARGET_DIR/release/reasonflux"
sources=(crates/*/src crates/*/Cargo.toml Cargo.toml Cargo.lock)
step "native CLI"
if [ -x "$bin" ]; then
  echo "$bin exists; cargo rebuilds only what changed (seconds when nothing did)"
else
  echo "cargo build --release -p rf-cli (about 17 minutes the first time on 2 cores)"
fi
cargo build --release -p rf-cli

qwen=(--model assets/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --tokenizer assets/qwen-tokenizer.json)
if [ -n "$cli_problem" ]; then
  step "solving with Qwen2.5-Coder-0.5B, direct chain-of-thought"
  exec "$bin" solve "${qwen[@]}" --strategy direct --max-new-tokens 1024 "$cli_problem"
fi

step "browser engine (www/pkg, KaTeX, template bundle)"
if up_to_date www/pkg/rf_wasm_bg.wasm "${sources[@]}" && up_to_date www/templates.rfb templates \
   && up_to_date www/templates.examples.rfb templates \
   && [ -d www/vendor/katex ]; then
  echo "www/pkg and www/templates.rfb are up to date (skipped)"
else
  echo "scripts/build-wasm.sh (about 10 minutes the first time: wasm32 target, wasm-bindgen-cli, build, wasm-opt)"
  scripts/build-wasm.sh
fi

step "checking the CLI with one real solve (Qwen2.5-Coder-0.5B on the CPU, about 10 s)"
"$bin" solve "${qwen[@]}" --strategy direct --max-new-tokens 256 "What is 15 + 27?"

step "serving the solver page"
echo "open http://localhost:$port/ (the <reasonflux-solver> widget: http://localhost:$port/demo-widget.html); Ctrl-C stops"
exec node scripts/serve.mjs "$port"
