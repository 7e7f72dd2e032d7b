#!/usr/bin/env bash
# Builds and runs the plan decoder's C++ tests and fuzzer under ASan+UBSan.
#
#   bash test/cpp/run.sh
#
# Environment:
#   CXX                        compiler for the sanitized builds (default g++)
#   CORDON_FUZZ_ITERATIONS     standalone fuzzer inputs (default 200000)
#   CORDON_FUZZ_SEED           standalone fuzzer PRNG seed (default fixed)
#   CORDON_LIBFUZZER_SECONDS   libFuzzer run time when clang++ has it (default 5)
#
# Exits non-zero if anything fails to build or run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cxx="${CXX:-g++}"
iterations="${CORDON_FUZZ_ITERATIONS:-200000}"
seed="${CORDON_FUZZ_SEED:-0xc0d0}"
libfuzzer_seconds="${CORDON_LIBFUZZER_SECONDS:-5}"

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "run.sh: $cxx not found" >&2
  exit 1
fi

out="$(mktemp -d "${TMPDIR:-/tmp}/cordon-cpp-test.XXXXXX")"
trap 'rm -rf "$out"' EXIT

flags=(-std=c++17 -g -O1 -Wall -Wextra -fno-omit-frame-pointer
       -fsanitize=address,undefined -fno-sanitize-recover=all
       -I"$root/native" -I"$here")
sources=("$root/native/plan_decode.cc")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

start=$SECONDS
echo "# building with $("$cxx" --version | head -n1)"
# The two builds are independent: run them side by side.
"$cxx" "${flags[@]}" "$here/plan_decode_test.cc" "${sources[@]}" -o "$out/plan_decode_test" &
test_build=$!
"$cxx" "${flags[@]}" -DCORDON_FUZZ_STANDALONE "$here/fuzz_plan_decode.cc" "${sources[@]}" \
  -o "$out/fuzz_plan_decode" &
fuzz_build=$!
status=0
wait "$test_build" || { echo "run.sh: building plan_decode_test failed" >&2; status=1; }
wait "$fuzz_build" || { echo "run.sh: building fuzz_plan_decode failed" >&2; status=1; }
[ "$status" -eq 0 ] || exit "$status"
echo "# built in $((SECONDS - start))s"

echo "# plan_decode_test"
"$out/plan_decode_test"

echo "# fuzz_plan_decode (standalone driver, $iterations inputs)"
"$out/fuzz_plan_decode" "$iterations" "$seed"

# Real libFuzzer needs clang++ with its runtime; nothing is installed for it.
clangxx="${CLANGXX:-clang++}"
if ! command -v "$clangxx" >/dev/null 2>&1; then
  echo "# libFuzzer run skipped: $clangxx not found (the standalone driver above covers CI)"
elif ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    "$clangxx" -x c++ -fsanitize=fuzzer - -o "$out/probe" >/dev/null 2>&1; then
  echo "# libFuzzer run skipped: $clangxx cannot link -fsanitize=fuzzer (no libFuzzer runtime)"
else
  echo "# libFuzzer, ${libfuzzer_seconds}s"
  "$clangxx" -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I"$root/native" -I"$here" "$here/fuzz_plan_decode.cc" "${sources[@]}" -o "$out/libfuzzer_plan_decode"
  mkdir -p "$out/corpus"
  "$out/fuzz_plan_decode" --write-seeds "$out/corpus"
  artifacts="${TMPDIR:-/tmp}/cordon-plan-decode-"
  if ! "$out/libfuzzer_plan_decode" -max_total_time="$libfuzzer_seconds" -max_len=4096 \
      -artifact_prefix="$artifacts" "$out/corpus" >"$out/libfuzzer.log" 2>&1; then
    cat "$out/libfuzzer.log" >&2
    echo "run.sh: libFuzzer found a crash (input saved under ${artifacts}*)" >&2
    exit 1
  fi
  tail -n 3 "$out/libfuzzer.log"
fi

echo "# all C++ plan decoder checks passed in $((SECONDS - start))s"
