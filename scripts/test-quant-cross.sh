#!/usr/bin/env bash
# Runs the rf-quant tests on the targets this machine cannot run natively, so that the NEON and
# wasm simd128 kernels are checked against the scalar reference:
#   - aarch64-unknown-linux-gnu under qemu-aarch64 (user mode; NEON is detected at run time),
#   - wasm32-wasip1 built with +simd128, under Node's WASI (scripts/wasi-test-runner.mjs).
# The x86-64 kernels are tested natively by `cargo test -p rf-quant`.
#
# Installs what is missing: the two rustup targets and the Debian packages qemu-user,
# gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (apt-get, as root or through sudo). Needs
# Node >= 20.
#
# Environment: CARGO_TARGET_DIR (default ~/.cache/reasonflux-web/target; this script builds in
# its quant-cross/ subdirectory), CARGO_BUILD_JOBS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reasonflux-web/target}/quant-cross"
JOBS="${CARGO_BUILD_JOBS:-$(nproc)}"
ARM=aarch64-unknown-linux-gnu
WASM=wasm32-wasip1
ARM_SYSROOT=/usr/aarch64-linux-gnu
export CARGO_TARGET_DIR="$TARGET_DIR"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $ARM_SYSROOT"

# --- what the run needs -----------------------------------------------------------------------
installed_targets=$(rustup target list --installed)
for target in "$ARM" "$WASM"; do
  grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done
if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null \
  || [ ! -e "$ARM_SYSROOT/lib/ld-linux-aarch64.so.1" ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
fi
command -v node >/dev/null || { echo "node (>= 20, for node:wasi) is required" >&2; exit 1; }

# --- a probe that prints Isa::available() on the target -----------------------------------------
# Built outside the workspace (its own [workspace]) with the workspace's lock file, so it
# resolves the same dependency versions and touches no project file.
PROBE="$TARGET_DIR/isa-probe"
mkdir -p "$PROBE/src"
cat >"$PROBE/Cargo.toml" <<EOF
[package]
name = "rf-quant-isa-probe"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
rf-quant = { path = "$ROOT/crates/rf-quant" }

[workspace]
EOF
cat >"$PROBE/src/main.rs" <<'EOF'
fn main() {
    let names: Vec<&str> = rf_quant::Isa::available().iter().map(|isa| isa.name()).collect();
    println!("{}", names.join(" "));
}
EOF
cp "$ROOT/Cargo.lock" "$PROBE/Cargo.lock"

# Builds the probe for `$1` and prints the ISA list; fails unless it contains `$2`.
# Remaining arguments: the command that runs a binary of that target.
probe_isas() {
  local target=$1 want=$2 ext=""
  shift 2
  [ "$target" = "$WASM" ] && ext=.wasm
  cargo build -q -j "$JOBS" --manifest-path "$PROBE/Cargo.toml" --target "$target"
  local isas
  isas=$("$@" "$TARGET_DIR/$target/debug/rf-quant-isa-probe$ext")
  if ! grep -qw "$want" <<<"$isas"; then
    echo "$target: Isa::available() is [$isas], without $want: its kernels would not be tested" >&2
    return 1
  fi
  echo "$isas"
}

# Sums the "N passed" of every libtest summary line on stdin.
count_passed() {
  awk '/^test result: ok\./ { n += $4 } END { print n + 0 }'
}

# --- aarch64 under qemu -----------------------------------------------------------------------
echo "== $ARM (qemu-aarch64)"
arm_isas=$(probe_isas "$ARM" neon qemu-aarch64 -L "$ARM_SYSROOT")
arm_log="$TARGET_DIR/$ARM-test.log"
cargo test -j "$JOBS" -p rf-quant --target "$ARM" --no-fail-fast 2>&1 | tee "$arm_log"
arm_passed=$(count_passed <"$arm_log")

# --- wasm32 simd128 under Node's WASI ---------------------------------------------------------
echo "== $WASM +simd128 (node:wasi)"
export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128"
runner=(node --no-warnings "$ROOT/scripts/wasi-test-runner.mjs")
wasm_isas=$(probe_isas "$WASM" simd128 "${runner[@]}")
mapfile -t wasm_tests < <(
  # --lib --tests: the test binaries only (not the examples, which `cargo test` also builds).
  cargo test -j "$JOBS" -p rf-quant --target "$WASM" --lib --tests --no-run --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p'
)
[ "${#wasm_tests[@]}" -gt 0 ] || { echo "no wasm test binaries were built" >&2; exit 1; }
wasm_passed=0
for test in "${wasm_tests[@]}"; do
  echo "-- $(basename "$test")"
  # No threads on wasm32-wasip1: one test at a time.
  if ! out=$("${runner[@]}" "$test" --test-threads=1 2>&1); then
    echo "$out"
    # A panic aborts the module, losing libtest's captured output: rerun to show the message.
    echo "-- failed; again without output capture:"
    "${runner[@]}" "$test" --test-threads=1 --nocapture || true
    exit 1
  fi
  echo "$out"
  wasm_passed=$((wasm_passed + $(count_passed <<<"$out")))
done

echo
echo "== rf-quant cross-target tests passed"
echo "$ARM: $arm_passed tests passed; ISA paths tested: $arm_isas"
echo "$WASM: $wasm_passed tests passed; ISA paths tested: $wasm_isas"
