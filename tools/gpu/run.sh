#!/usr/bin/env bash
# Runs the bundle of tools/gpu/package.sh on the GPU machine: the CUDA tests, the GPU benchmarks and
# the PyTorch comparisons, then prints one summary table (docs/gpu.md).
#
#   tools/gpu/run.sh [bundle-dir]      from the repository root (default bundle: .gpu-bundle/)
#
# Results go to $OUT (the device tool's return folder) or $WSOL_GPU_OUT, else /tmp/wsol-gpu:
#   test_cuda.json/.log, bench_cuda.json/.log, torch.jsonl/.log, summary.txt.
# Environment: WSOL_GPU_TESTS=0 or WSOL_GPU_BENCH=0 skip a part; WSOL_GTEST_FILTER and
# WSOL_BENCH_FILTER narrow them; WSOL_BENCH_MIN_TIME (seconds, default 0.2) sets benchmark length.
# The CUDA, cuBLAS and cuDNN libraries are the machine's own: /usr/local/cuda and the nvidia-*
# pip packages next to PyTorch (tools/gpu/find_cuda_libs.py). Also runs on a machine without a GPU,
# where every test reports SKIPPED and the benchmarks say so. Exit status: the tests', else the
# benchmark program's (a crash or CUDA error in a benchmark fails the run too).
set -uo pipefail

root=$(pwd)
[[ -f $root/tools/gpu/run.sh ]] || { echo "run.sh: run it from the repository root" >&2; exit 2; }
bundle=${1:-$root/.gpu-bundle}
out=${OUT:-${WSOL_GPU_OUT:-/tmp/wsol-gpu}}
mkdir -p "$out"
[[ -f $bundle/bin.tar.gz && -f $bundle/lib.tar.gz ]] || {
    echo "run.sh: no bundle in $bundle (run tools/gpu/package.sh first, then carry the folder)" >&2
    exit 2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
libs=$work/lib bins=$work/bin
mkdir -p "$libs" "$bins"
tar -xzf "$bundle/lib.tar.gz" -C "$libs"
tar -xzf "$bundle/bin.tar.gz" -C "$bins"
cuda_dirs=$(python3 "$root/tools/gpu/find_cuda_libs.py")
export LD_LIBRARY_PATH="$libs${cuda_dirs:+:$cuda_dirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}

echo "== machine"
nvidia-smi -L 2>/dev/null || echo "(no nvidia-smi)"
echo "CUDA library folders: ${cuda_dirs:-none found}"
for b in "$bins"/*; do
    if ldd "$b" | grep -q "not found"; then
        echo "run.sh: $(basename "$b") cannot find these libraries:" >&2
        ldd "$b" | grep "not found" >&2
    fi
done
head -3 "$bundle/MANIFEST" 2>/dev/null

tests_rc=0
bench_rc=0
if [[ ${WSOL_GPU_TESTS:-1} != 0 ]]; then
    echo "== test_cuda"
    (cd "$root" && "$bins/test_cuda" --gtest_output="json:$out/test_cuda.json" \
        ${WSOL_GTEST_FILTER:+--gtest_filter=$WSOL_GTEST_FILTER} 2>&1 | tee "$out/test_cuda.log" | tail -n 40)
    tests_rc=${PIPESTATUS[0]}
fi

if [[ ${WSOL_GPU_BENCH:-1} != 0 ]]; then
    echo "== bench_cuda"
    "$bins/bench_cuda" --benchmark_out="$out/bench_cuda.json" --benchmark_out_format=json \
        --benchmark_min_time="${WSOL_BENCH_MIN_TIME:-0.2}" ${WSOL_BENCH_FILTER:+--benchmark_filter=$WSOL_BENCH_FILTER} \
        > "$out/bench_cuda.log" 2>&1
    bench_rc=$?
    echo "bench_cuda exit code $bench_rc (log in $out/bench_cuda.log)"
    echo "== PyTorch comparisons"
    : > "$out/torch.jsonl"
    if python3 -c "import torch" 2>/dev/null; then
        for script in "$root"/bench/compare/cuda_*.py; do
            [[ $(basename "$script") == cuda_timing.py ]] && continue
            (cd "$root/bench/compare" && PYTHONUNBUFFERED=1 python3 "$script") >> "$out/torch.jsonl" 2>> "$out/torch.log"
        done
    else
        echo "python3 has no torch here: no comparison" | tee "$out/torch.log"
    fi
fi

python3 "$root/tools/gpu/summarize.py" "$out" | tee "$out/summary.txt"
# Failing tests first; otherwise a failed benchmark run (a crash, a CUDA error) fails the command too.
if [[ $tests_rc != 0 ]]; then exit "$tests_rc"; fi
exit "$bench_rc"
