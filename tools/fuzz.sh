#!/usr/bin/env bash
# Builds the libFuzzer targets (cmake preset "fuzz": clang, ASan + UBSan) and runs every one of them
# for a while on its seed corpus; fails if any target finds a crash, a sanitizer report, a leak or
# a timeout. CI runs it with the default; run it longer by hand after touching a parser.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET]      (or FUZZ_SECONDS=...; default 20)
#   FUZZ_JOBS=N   parallel build jobs (default: all cores)
#
# Targets are tests/fuzz/fuzz_<name>.cpp -> build/fuzz/fuzz/fuzz_<name>; seeds are read from
# tests/fuzz/corpus/fuzz_<name>/ (never written: new inputs go to a scratch copy). A crashing input
# is saved as build/fuzz/artifacts/<target>/crash-*; reproduce with build/fuzz/fuzz/<target> <file>.
set -euo pipefail

seconds="${1:-${FUZZ_SECONDS:-20}}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cmake --preset fuzz >/dev/null
targets=()
for src in tests/fuzz/fuzz_*.cpp; do
    targets+=("$(basename "$src" .cpp)")
done
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz.sh: no targets in tests/fuzz" >&2
    exit 1
fi
cmake --build build/fuzz --target "${targets[@]}" ${FUZZ_JOBS:+-j "$FUZZ_JOBS"}

# UBSan reports must stop the run (by default it prints and carries on).
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

failed=()
for target in "${targets[@]}"; do
    binary="build/fuzz/fuzz/$target"
    seeds="tests/fuzz/corpus/$target"
    scratch="build/fuzz/corpus/$target"
    artifacts="build/fuzz/artifacts/$target"
    mkdir -p "$scratch" "$artifacts"
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
        # A target without seeds starts from nothing and finds far less in a short run: an error,
        # so that a renamed target or folder is noticed.
        echo "fuzz.sh: $target has no seed corpus in $seeds" >&2
        exit 1
    fi
    echo "== $target: ${seconds}s"
    corpora=("$scratch" "$seeds")
    # -timeout: one input running over 10 s counts as a hang; -rss_limit_mb: 2 GiB counts as a leak/bomb.
    if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$artifacts/" "${corpora[@]}" 2>"build/fuzz/$target.log"; then
        tail -n 40 "build/fuzz/$target.log" >&2
        failed+=("$target")
    else
        grep -E "stat::number_of_executed_units|stat::new_units_added" "build/fuzz/$target.log" | sed 's/^/   /'
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz.sh: FAILED: ${failed[*]} (inputs in build/fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds}s without a finding"
