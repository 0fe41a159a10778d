#!/usr/bin/env bash
# Leave-one-problem-out DPO: for every problem that has pairs, train on the pairs of the other
# problems and measure the held-out problem's pairs; prints each fold and the pooled accuracy.
#   scripts/dpo-leave-one-out.sh MODEL OUT_DIR PAIRS.jsonl [PAIRS.jsonl ...]
# Extra `reasonflux train dpo` flags go in DPO_FLAGS (default: β 0.5, 8 steps, accum 2, lr 1e-6).
# FOLDS=K holds out K groups of problems in turn (problem i in group i mod K) instead of one each.
# Each fold's checkpoint (1.6 GB for SmolLM2-135M with its optimizer state) is deleted once its
# report is written; KEEP_CHECKPOINTS=1 keeps them. JOBS=N trains N folds at once.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n 2,8p "$0" >&2
  exit 2
fi
model=$1 out=$2
shift 2
reasonflux="${REASONFLUX:-${CARGO_TARGET_DIR:-$HOME/.cache/reasonflux-web/target}/release/reasonflux}"
if [ ! -x "$reasonflux" ]; then
  echo "no reasonflux binary at $reasonflux: build it, or set REASONFLUX or CARGO_TARGET_DIR" >&2
  exit 2
fi
if ! [[ "${FOLDS:-0}" =~ ^[0-9]+$ ]]; then
  echo "FOLDS must be a whole number of problem groups, not '${FOLDS}'" >&2
  exit 2
fi
flags=${DPO_FLAGS:---beta 0.5 --steps 8 --accum 2 --lr 1e-6 --warmup 1 --save-every 100 --keep 1}
mkdir -p "$out"
cat "$@" > "$out/all.jsonl"
folds=$(python3 - "$out" "${FOLDS:-0}" <<'PY'
import json, sys
out, groups = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(f"{out}/all.jsonl") if l.strip()]
problems = list(dict.fromkeys(r["problem"] for r in rows))
groups = groups or len(problems)
fold_of = {p: i % groups for i, p in enumerate(problems)}
for k in range(min(groups, len(problems))):
    with open(f"{out}/fold{k}.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(dict(r, split="held_out" if fold_of[r["problem"]] == k else "train")) + "\n")
print(min(groups, len(problems)))
PY
)
if [ "$folds" -lt 2 ]; then
  echo "need at least 2 folds (pairs from 2 problems, FOLDS unset or >= 2), found $folds" >&2
  exit 2
fi
run_fold() { # run_fold K: train on fold K's pairs; exit status 1 (with the end of its log) on failure
  local k=$1
  rm -rf "$out/dpo-fold$k"
  # shellcheck disable=SC2086
  if ! "$reasonflux" train dpo --model "$model" --pairs "$out/fold$k.jsonl" --out "$out/dpo-fold$k" $flags > "$out/dpo-fold$k.log" 2>&1; then
    echo "fold $k failed; its log: $out/dpo-fold$k.log" >&2
    tail -n 5 "$out/dpo-fold$k.log" >&2
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
from collections import defaultdict
out, folds = sys.argv[1], int(sys.argv[2])
right = lambda ms: sum(m > 0 for m in ms)  # pairs whose chosen plan the trained model prefers
# problem -> held-out margins after training, read back in each fold file's held-out order
margins = defaultdict(list)
by_gap = defaultdict(list)  # score gap of the pair, rounded -> margins
for k in range(folds):
    r = json.load(open(f"{out}/dpo-fold{k}/report.json"))
    held = [p for p in map(json.loads, open(f"{out}/fold{k}.jsonl")) if p["split"] == "held_out"]
    ms = r["held_out_margins_after"]
    assert len(held) == len(ms), f"fold {k}: {len(held)} held-out pairs, {len(ms)} margins"
    for p, m in zip(held, ms):
        margins[p["problem"]].append(m)
        by_gap[round(p["chosen_score"] - p["rejected_score"], 2)].append(m)
    print(f"fold {k}: {right(ms)}/{len(ms)} held-out pairs right ({len({p['problem'] for p in held})} problems), "
          f"margin {sum(ms) / len(ms):+.3f}; training accuracy {r['train_accuracy_after']:.2f}")
all_margins = [m for ms in margins.values() for m in ms]
print(f"pooled: {right(all_margins)}/{len(all_margins)} = {right(all_margins) / len(all_margins):.3f} held-out accuracy, "
      f"mean margin {sum(all_margins) / len(all_margins):+.3f}")
# A pair whose scores differ more is less likely to be the inference model's luck.
for gap, ms in sorted(by_gap.items()):
    print(f"  score gap {gap:.2f}: {right(ms)}/{len(ms)} right")
# The pairs of one problem share plans and move together, so the honest unit is the problem:
# a two-sided sign test over the problems above and below chance (ties dropped).
above = sum(right(ms) > len(ms) / 2 for ms in margins.values())
below = sum(right(ms) < len(ms) / 2 for ms in margins.values())
decided = above + below
tail = sum(math.comb(decided, i) for i in range(min(above, below) + 1)) / 2**decided if decided else 1.0
print(f"problems above chance {above}, below {below}, at chance {len(margins) - decided}; "
      f"two-sided sign test p = {min(1.0, 2 * tail):.3f}")
PY
