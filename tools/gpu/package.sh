#!/usr/bin/env bash
# Builds the CUDA test and benchmark programs here and packs them, with the non-CUDA shared
# libraries they need, into a self-contained bundle for the GPU machine (docs/gpu.md).
#
#   tools/gpu/package.sh [bundle-dir]        (default: .gpu-bundle/ in the repository root, ignored by git)
#
# The GPU machine has CUDA 13, cuBLAS and cuDNN (from /usr/local/cuda and PyTorch's nvidia-* pip
# packages) but no OpenBLAS, GoogleTest or Google Benchmark, and no network. So the bundle holds:
#   bin.tar.gz                      the gpu preset's programs test_cuda and bench_cuda (sm_90), symbols
#                                   stripped, compressed (their CUDA fat binaries shrink 4x: the carried
#                                   tree is limited to 64 MiB)
#   lib.tar.gz                      every shared library they load that is neither part of the C/C++
#                                   runtime (libc, libm, libstdc++, libgcc_s, ...: the GPU machine's
#                                   newer ones serve) nor CUDA (libcudart, libcublas*, libcudnn*: the
#                                   GPU machine's own), found with ldd; compressed (OpenBLAS alone is
#                                   36 MB) to keep the carried tree small
#   MANIFEST                        what was built from which commit, and the file sizes
# tools/gpu/run.sh unpacks and runs it there. Needs: cmake, ninja, nvcc (/usr/local/cuda), ldd, strip.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bundle=${1:-$root/.gpu-bundle}
cd "$root"

echo "== configuring and building the gpu preset (test_cuda, bench_cuda)"
cmake --preset gpu >/dev/null
cmake --build build/gpu --target test_cuda bench_cuda

bins=(build/gpu/tests/test_cuda build/gpu/bin/bench_cuda)
for b in "${bins[@]}"; do
    [[ -x $b ]] || { echo "package.sh: $b was not built" >&2; exit 1; }
done

rm -rf "$bundle"
mkdir -p "$bundle"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/lib" "$staging/bin"

for b in "${bins[@]}"; do
    cp "$b" "$staging/bin/"
    strip --strip-unneeded "$staging/bin/$(basename "$b")"
done
tar -czf "$bundle/bin.tar.gz" -C "$staging/bin" .

# Libraries the GPU machine provides itself: the C/C++ runtime and everything CUDA.
provided='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|librt\.|libpthread\.|libstdc\+\+\.|libgcc_s\.|libcuda\.|libcudart\.|libcublas|libcublasLt\.|libcudnn|libnvrtc|libnvJitLink)'
missing=0
while read -r name arrow path _; do
    [[ $arrow == "=>" ]] || continue
    if [[ $path == "not" ]]; then
        echo "package.sh: $name is not found on this machine" >&2
        missing=1
        continue
    fi
    [[ $name =~ $provided ]] && continue
    cp -L "$path" "$staging/lib/$name"
done < <(for b in "${bins[@]}"; do ldd "$b"; done | sort -u)
[[ $missing == 0 ]] || exit 1

tar -czf "$bundle/lib.tar.gz" -C "$staging/lib" .
{
    echo "wsol GPU bundle"
    echo "commit:  $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
    echo "built:   $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(. /etc/os-release && echo "$PRETTY_NAME"), $(ldd --version | head -1)"
    echo "nvcc:    $(/usr/local/cuda/bin/nvcc --version | tail -1)"
    echo "arch:    sm_90 (CMAKE_CUDA_ARCHITECTURES 90)"
    echo "needs there: glibc >= $(ldd --version | head -1 | grep -o '[0-9.]*$'), libstdc++ of GCC >= $(gcc -dumpversion), CUDA 13 (libcudart.so.13, libcublas(Lt).so.13), cuDNN 9 (libcudnn.so.9)"
    echo "bundled libraries:"
    ls -1 "$staging/lib" | sed 's/^/  /'
    echo "programs (uncompressed):"
    (cd "$staging/bin" && du -b ./* | sed 's/^/  /')
    echo "files:"
    (cd "$bundle" && du -b bin.tar.gz lib.tar.gz | sed 's/^/  /')
} > "$bundle/MANIFEST"

total=$(du -sb "$bundle" | cut -f1)
echo "== bundle: $bundle ($((total / 1024 / 1024)) MiB)"
cat "$bundle/MANIFEST"
if (( total > 48 * 1024 * 1024 )); then
    echo "package.sh: the bundle is over 48 MiB; the carried tree is limited to 64 MiB" >&2
    exit 1
fi
