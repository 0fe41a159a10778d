#!/usr/bin/env bash
# The CPU table of docs/BENCHMARKS.md in one run: `reasonflux bench` with quantized and f32
# weights, llama.cpp (scripts/bench-llamacpp.sh) and candle (scripts/bench-candle.sh) on every
# model given, back to back, one process at a time. Each engine prefills the same 128-token
# prompt and greedy-decodes 64 tokens; medians of 3 runs after a warm-up.
#
# Usage: scripts/bench-cpu-peers.sh [MODEL.gguf ...]   (default: the three models of assets/;
#        fetch them with scripts/fetch-assets.sh smollm2 qwen05 qwen-tokenizer qwen15)
# Env:   OUT     folder for the JSON and the log (default: runs/bench-cpu-<date>)
#        F32=0   skip the f32 reference runs (the 1.5B model needs 6 GB with f32 weights)
# Builds the reasonflux binary first; the first run of each peer script builds that peer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="${OUT:-runs/bench-cpu-$(date +%Y%m%d-%H%M)}"
mkdir -p "$out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reasonflux-web/target}"
cargo build --release -p rf-cli >&2
bin="$CARGO_TARGET_DIR/release/reasonflux"
if [ "$#" -eq 0 ]; then
  set -- assets/SmolLM2-135M-Instruct.Q4_1.gguf assets/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \
    assets/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
fi
{
  echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) × $(nproc)"
  for model in "$@"; do
    name="$(basename "$model" .gguf)"
    tokenizer=()
    case "$name" in qwen*) tokenizer=(--tokenizer assets/qwen-tokenizer.json) ;; esac
    weights=(quant)
    [ "${F32:-1}" != 0 ] && weights+=(f32)
    for w in "${weights[@]}"; do
      "$bin" bench -m "$model" "${tokenizer[@]}" --weights "$w" --json "$out/$name.$w.json" | grep '^|' | tail -n1
    done
    JSON_DIR="$out" scripts/bench-llamacpp.sh "$model" | grep "^|" | tail -n1
    scripts/bench-candle.sh "$model" | grep '^|' | tail -n1
  done
} 2>>"$out/log.txt" | tee "$out/table.md"
echo "figures in $out" >&2
