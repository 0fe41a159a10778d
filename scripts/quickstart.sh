#!/usr/bin/env bash
# One command from a fresh clone to a real solve: fetch the model, build, run.
#   scripts/quickstart.sh [--qwen] ["problem text"]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reasonflux-web/target}"

use_qwen=0
problem="What is the sum of the roots of x^2 - 5x + 6 = 0?"
for arg in "$@"; do
  case "$arg" in
    --qwen) use_qwen=1 ;;
    *) problem="$arg" ;;
  esac
done

command -v unzip >/dev/null || { echo "unzip is needed: apt-get install -y unzip" >&2; exit 1; }
scripts/fetch-assets.sh smollm2
model=(--model assets/SmolLM2-135M-Instruct.Q4_1.gguf)
if [ "$use_qwen" = 1 ]; then
  scripts/fetch-assets.sh qwen05 qwen-tokenizer
  model=(--model assets/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --tokenizer assets/qwen-tokenizer.json)
fi

echo "building reasonflux (release; the first build takes ~17 minutes on 2 cores)…" >&2
cargo build --release -p rf-cli
bin="$CARGO_TARGET_DIR/release/reasonflux"
"$bin" solve "${model[@]}" --max-new-tokens 256 "$problem"
