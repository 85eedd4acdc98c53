#!/usr/bin/env bash
# One entry point for a fresh machine: installs what is missing from Debian's packages, configures,
# builds, and then runs what was asked.
#
#   ./run.sh demo    synthesise a dataset, train SAT on it, evaluate, write the HTML report
#   ./run.sh test    the whole test suite (Release, CUDA compiled when nvcc exists), again under
#                    AddressSanitizer + UndefinedBehaviorSanitizer, then a short fuzzing pass
#   ./run.sh build   set up and build only (build/default)
#   ./run.sh deps    install the missing Debian packages only
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake ninja-build g++ clang pkg-config libomp-dev
          libopenblas-dev libgtest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev
          libturbojpeg0-dev libopencv-imgproc-dev libopencv-imgcodecs-dev zlib1g-dev)

log() { printf '\n== %s\n' "$*"; }

deps() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all Debian packages present"
        return
    fi
    log "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {  # build <preset>
    log "configure + build ($1)"
    cmake --preset "$1" >/dev/null
    cmake --build --preset "$1" -j "$(nproc)"
}

case "${1:-}" in
    deps)
        deps
        ;;
    build)
        deps
        build default
        ;;
    test)
        deps
        start=$(date +%s)
        build ci
        log "tests (ci)"
        OMP_NUM_THREADS=2 ctest --preset ci -j 2
        build asan
        log "tests (AddressSanitizer + UndefinedBehaviorSanitizer; the slow learning test ran above)"
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 OMP_NUM_THREADS=2 \
            ctest --preset asan -j 2 -LE slow
        if [ -x tools/fuzz.sh ]; then
            log "fuzzing (short)"
            tools/fuzz.sh "${WSOL_FUZZ_SECONDS:-10}"
        fi
        log "all tests passed in $(( $(date +%s) - start )) s"
        ;;
    demo)
        deps
        build default
        exec tools/demo.sh "${@:2}"
        ;;
    *)
        sed -n '2,10p' "$0"
        exit 2
        ;;
esac
