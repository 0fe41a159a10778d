#!/usr/bin/env bash
# Leave-one-problem-out DPO: for every problem that has pairs, train on the pairs of the other
# problems and measure the held-out problem's pairs; prints each fold and the pooled accuracy.
#   scripts/dpo-leave-one-out.sh MODEL OUT_DIR PAIRS.jsonl [PAIRS.jsonl ...]
# Extra `reasonflux train dpo` flags go in DPO_FLAGS (default: β 0.5, 8 steps, accum 2, lr 1e-6).
# Each fold's checkpoint (1.6 GB for SmolLM2-135M with its optimizer state) is deleted once its
# report is written; KEEP_CHECKPOINTS=1 keeps them. JOBS=N trains N folds at once.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n 2,7p "$0" >&2
  exit 2
fi
model=$1 out=$2
shift 2
reasonflux="${REASONFLUX:-${CARGO_TARGET_DIR:-target}/release/reasonflux}"
if [ ! -x "$reasonflux" ]; then
  echo "no reasonflux binary at $reasonflux: build it, or set REASONFLUX or CARGO_TARGET_DIR" >&2
  exit 2
fi
flags=${DPO_FLAGS:---beta 0.5 --steps 8 --accum 2 --lr 1e-6 --warmup 1 --save-every 100 --keep 1}
mkdir -p "$out"
cat "$@" > "$out/all.jsonl"
folds=$(python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open(f"{out}/all.jsonl") if l.strip()]
problems = list(dict.fromkeys(r["problem"] for r in rows))
for k, p in enumerate(problems):
    with open(f"{out}/fold{k}.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(dict(r, split="held_out" if r["problem"] == p else "train")) + "\n")
print(len(problems))
PY
)
if [ "$folds" -lt 2 ]; then
  echo "need pairs from at least 2 problems, found $folds" >&2
  exit 2
fi
run_fold() { # run_fold K: train on fold K's pairs; exit status 1 (with its log's head) on failure
  local k=$1
  rm -rf "$out/dpo-fold$k"
  # shellcheck disable=SC2086
  if ! "$reasonflux" train dpo --model "$model" --pairs "$out/fold$k.jsonl" --out "$out/dpo-fold$k" $flags 2> "$out/dpo-fold$k.log"; then
    echo "fold $k failed; its log: $out/dpo-fold$k.log" >&2
    head -n 5 "$out/dpo-fold$k.log" >&2
    return 1
  fi
  if [ "${KEEP_CHECKPOINTS:-0}" != 1 ]; then
    rm -rf "$out/dpo-fold$k"/step-*
  fi
}
export -f run_fold
export reasonflux model out flags
# JOBS=N trains N folds at once (about 4 GB each), for when one fold leaves cores idle.
if ! seq 0 $((folds - 1)) | xargs -P "${JOBS:-1}" -I{} bash -c 'run_fold {}'; then
  exit 1
fi
python3 - "$out" "$folds" <<'PY'
import json, math, sys
out, folds = sys.argv[1], int(sys.argv[2])
right = total = 0
margin = 0.0
# The pairs of one problem share plans and move together, so the honest unit is the problem:
# a two-sided sign test over the folds above and below chance (ties dropped).
above = below = 0
for k in range(folds):
    r = json.load(open(f"{out}/dpo-fold{k}/report.json"))
    above += r["held_out_accuracy_after"] > 0.5
    below += r["held_out_accuracy_after"] < 0.5
    n = r["held_out_pairs"]
    print(f"fold {k}: {round(r['held_out_accuracy_after'] * n)}/{n} held-out pairs right, "
          f"margin {r['held_out_margin_after']:+.3f}; training accuracy {r['train_accuracy_after']:.2f}")
    right += round(r["held_out_accuracy_after"] * n)
    total += n
    margin += r["held_out_margin_after"] * n
print(f"pooled: {right}/{total} = {right / total:.3f} held-out accuracy, mean margin {margin / total:+.3f}")
decided = above + below
tail = sum(math.comb(decided, i) for i in range(min(above, below) + 1)) / 2**decided if decided else 1.0
print(f"problems above chance {above}, below {below}, at chance {folds - decided}; "
      f"two-sided sign test p = {min(1.0, 2 * tail):.3f}")
PY
