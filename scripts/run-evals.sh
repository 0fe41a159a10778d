#!/usr/bin/env bash
# Runs evaluation jobs for one model in parallel shards, resumably: re-running the same command
# skips every problem already recorded. Records go to runs/eval/<model>/; `reasonflux
# eval-report` turns them into evals/results/<model>/.
#
#   scripts/run-evals.sh qwen05 math500-100:direct math500-100:guided math500-100:reasonflux
#
# Each job is <set>:<strategy> with <set> a file of evals/sets/. Environment: RF_SHARDS (2),
# RF_MAX_NEW_TOKENS (1024, every strategy gets the same budget per generation), RF_NAVIGATOR
# (a separate navigator model), RF_RUNS (runs/eval/<model>), RF_SEED (0), RF_BIN (the reasonflux
# binary; point it at a copy to keep a long run's rules fixed while the tree is rebuilt),
# RF_ONLY_SHARDS (run only these of the RF_SHARDS parts, e.g. "1 2" of 4: half the set, every
# level; the other parts can follow later, and eval-report merges whatever parts exist),
# RF_RETRIEVER (lexical; dense, hybrid or auto need scripts/fetch-assets.sh minilm and record
# the run as its own arm, e.g. guided-auto; RF_BUNDLE, a bundle built with --encoder, saves
# embedding the templates at every start).
set -euo pipefail
cd "$(dirname "$0")/.."
model_name="${1:?usage: scripts/run-evals.sh <qwen05|qwen15|smollm2> <set>:<strategy>...}"
shift
case "$model_name" in
  qwen05) model=assets/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf ;;
  qwen15) model=assets/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf ;;
  smollm2) model=assets/SmolLM2-135M-Instruct.Q4_1.gguf ;;
  *) echo "unknown model '$model_name' (qwen05, qwen15, smollm2)" >&2; exit 2 ;;
esac
[ -f "$model" ] || { echo "$model is missing: run scripts/fetch-assets.sh" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reasonflux-web/target}"
bin="${RF_BIN:-$CARGO_TARGET_DIR/release/reasonflux}"
if [ -n "${RF_BIN:-}" ]; then
  [ -x "$bin" ] || { echo "RF_BIN=$bin is not an executable" >&2; exit 1; }
else
  [ -x "$bin" ] || cargo build --release -p rf-cli
fi
shards="${RF_SHARDS:-2}"
runs="${RF_RUNS:-runs/eval/$model_name}"
extra=()
[ -n "${RF_NAVIGATOR:-}" ] && extra+=(--navigator "$RF_NAVIGATOR")
[ -n "${RF_RETRIEVER:-}" ] && extra+=(--retriever "$RF_RETRIEVER")
[ -n "${RF_BUNDLE:-}" ] && extra+=(--bundle "$RF_BUNDLE")
mkdir -p "$runs"
run_shard() {
  local shard="$1" job set strategy
  for job in "${@:2}"; do
    set="${job%%:*}"; strategy="${job#*:}"
    [ -f "evals/sets/$set.txt" ] || { echo "no evals/sets/$set.txt" >&2; return 2; }
    echo "[$(date +%H:%M:%S)] shard $shard/$shards: $set $strategy"
    # One thread per shard: the shards share the machine's cores.
    RF_THREADS="${RF_THREADS:-1}" "$bin" eval --set "evals/sets/$set.txt" --strategy "$strategy" --model "$model" \
      --max-new-tokens "${RF_MAX_NEW_TOKENS:-1024}" --seed "${RF_SEED:-0}" --shard "$shard/$shards" --out "$runs" \
      "${extra[@]}" >/dev/null
  done
}
pids=()
for s in ${RF_ONLY_SHARDS:-$(seq 1 "$shards")}; do
  run_shard "$s" "$@" > "$runs/shard$s.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
echo "done (status $status); logs in $runs/shard*.log"
exit $status
