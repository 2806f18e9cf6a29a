#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ with clang (ASan + UBSan) and runs each for
# DURATION seconds (default 60) from its seed corpus in fuzz/corpus/<name>/ (device profiles
# also from firmware_configs/). New inputs go to build-fuzz/corpus/<name>/, crashes to
# build-fuzz/artifacts/. Exits non-zero when a target finds a crash.
#   scripts/fuzz.sh [DURATION] [TARGET...]    e.g. scripts/fuzz.sh 10 decode_json_fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-60}
shift || true
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}

all_targets=(decode_json_fuzz decode_csv_fuzz decode_kv_fuzz decode_binary_fuzz
             topic_template_fuzz device_profile_fuzz operator_state_fuzz ingest_journal_fuzz)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

# Debian's clang needs libclang-rt-14-dev for -fsanitize=fuzzer.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe/probe.cc"
if ! clang++ -fsanitize=fuzzer,address "$probe/probe.cc" -o "$probe/probe" 2>/dev/null; then
  echo "== installing clang and its fuzzer runtime"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get install -y clang libclang-rt-14-dev >/dev/null
  clang++ -fsanitize=fuzzer,address "$probe/probe.cc" -o "$probe/probe"
fi

echo "== building fuzz targets in $build_dir"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DRUNNEL_BUILD_FUZZ=ON -DRUNNEL_BUILD_TESTS=OFF \
  -DRUNNEL_BUILD_BENCH=OFF >/dev/null
ninja -C "$build_dir" "${targets[@]}"

corpus_name() {  # decode_json_fuzz -> json, topic_template_fuzz -> topic, ...
  case "$1" in
    decode_*_fuzz) local n=${1#decode_}; echo "${n%_fuzz}" ;;
    topic_template_fuzz) echo topic ;;
    device_profile_fuzz) echo profile ;;
    operator_state_fuzz) echo state ;;
    ingest_journal_fuzz) echo journal ;;
    *) echo "$1" ;;
  esac
}

mkdir -p "$build_dir/artifacts"
failed=()
for target in "${targets[@]}"; do
  name=$(corpus_name "$target")
  work="$build_dir/corpus/$name"
  mkdir -p "$work"
  seeds=("fuzz/corpus/$name")
  if [ "$name" = profile ]; then seeds+=(firmware_configs); fi
  echo "== $target: ${duration}s"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$build_dir/fuzz/$target" -max_total_time="$duration" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$target-" \
      "$work" "${seeds[@]}" >"$build_dir/$target.log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$build_dir/$target.log" |
      tr '\n' ' '
    echo "corpus $(ls "$work" | wc -l) files"
  else
    echo "FAILED: see $build_dir/$target.log"
    tail -40 "$build_dir/$target.log"
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== crashes in: ${failed[*]} (inputs in $build_dir/artifacts/)"
  exit 1
fi
echo "== no crashes"
