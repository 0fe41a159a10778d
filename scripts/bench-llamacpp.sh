#!/usr/bin/env bash
# CPU speed peer: runs the benchmark of `reasonflux bench` with llama.cpp (llama-cpp-python
# 0.3.36 built from the PyPI sdist for this CPU, GGML_NATIVE=ON): a 128-token prompt of the
# fixed seed sentence (no BOS), one prefill, 64 greedy tokens with no stop, 1 warm-up + 3
# measured runs, medians, peak RSS from VmHWM, one thread per core.
#
# The virtual environment lives outside the repository (llama.cpp is not a dependency of
# ReasonFlux Web); the first run builds llama.cpp (~25 minutes on 2 cores).
#
# Usage: scripts/bench-llamacpp.sh [MODEL.gguf ...]   (default: every model in assets/)
# Env:   LLAMACPP_VENV  venv dir (default ~/.cache/reasonflux-web/llamacpp-venv)
#        THREADS        threads (default: nproc)
#        BENCH_ARGS     e.g. "--runs 5 --prompt-tokens 128 --decode-tokens 64"
#        JSON_DIR       also write one <model>.llamacpp.json per model there
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${LLAMACPP_VENV:-$HOME/.cache/reasonflux-web/llamacpp-venv}"
case "$venv" in "$root"|"$root"/*) echo "LLAMACPP_VENV must be outside the repository" >&2; exit 2;; esac

if ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
  echo "building llama-cpp-python 0.3.36 into $venv (about 25 minutes on 2 cores)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet cmake ninja scikit-build-core numpy
  CMAKE_ARGS="-DGGML_NATIVE=ON" "$venv/bin/pip" install --quiet --no-build-isolation \
    --no-binary llama-cpp-python llama-cpp-python==0.3.36
fi

if [ "$#" -eq 0 ]; then
  set -- "$root"/assets/*.gguf
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)   cpus: $(nproc)" >&2
for model in "$@"; do
  out=()
  [ -n "${JSON_DIR:-}" ] && out=(--json "$JSON_DIR/$(basename "$model" .gguf).llamacpp.json")
  # shellcheck disable=SC2086
  "$venv/bin/python" "$root/scripts/bench_llamacpp.py" "$model" --threads "${THREADS:-$(nproc)}" "${out[@]}" ${BENCH_ARGS:-}
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
