#!/usr/bin/env bash
# The README demo (./run.sh demo): a synthetic dataset, SAT trained on it, both protocols, a report.
#
#   1. wsol-synth writes 6 classes in the CUB layout (+ wsolevaluation metadata) and the ILSVRC layout
#      (different images of the same classes): 96-128 px images, objects covering 15-60% of the
#      image on textured backgrounds, no distractor shapes. tests/learning trains exactly this and
#      checks it.
#   2. wsol-train pre-trains a small ViT classifier on the ILSVRC-layout images (preset vit-synth),
#      as SAT starts from a DeiT pre-trained on ImageNet.
#   3. wsol-train fine-tunes SAT from it on the CUB-layout training split (preset sat-synth), picks the
#      checkpoint on the held-out `val` split and evaluates it on `test` with both protocols.
#   4. The report (headline numbers, curves, overlays) is in <out>/sat/report/report.html.
#
# Options: --out DIR (default demo), --device cpu|cuda, --quick (smaller, for a smoke test).
# Steps already done (their output exists) are skipped, so an interrupted demo continues.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${WSOL_BIN:-build/default/bin}
OUT=demo
DEVICE=cpu
QUICK=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --device) DEVICE=$2; shift 2 ;;
        --quick) QUICK=1; shift ;;
        *) echo "demo.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
for app in wsol-synth wsol-train; do
    [ -x "$BIN/$app" ] || { echo "demo.sh: $BIN/$app is missing; run ./run.sh build first" >&2; exit 1; }
done

if [ $QUICK -eq 1 ]; then
    PER_CLASS=(--train-per-class 30 --val-per-class 4 --test-per-class 6); PRE_EPOCHS=2; SAT_EPOCHS=2
else
    PER_CLASS=(--train-per-class 250 --val-per-class 10 --test-per-class 30); PRE_EPOCHS=15; SAT_EPOCHS=15
fi
start=$(date +%s)
mkdir -p "$OUT"

echo "== 1/3 synthetic dataset -> $OUT/data"
[ -d "$OUT/data" ] || "$BIN/wsol-synth" --out "$OUT/data" --classes 6 "${PER_CLASS[@]}" --seed 0 \
    --min-side 96 --max-side 128 --min-area 0.15 --min-distractors 0 --max-distractors 0

echo "== 2/3 pre-training a small ViT classifier on the ILSVRC-layout images -> $OUT/pretrain"
if [ ! -f "$OUT/pretrain/report/report.json" ]; then
    if [ -f "$OUT/pretrain/checkpoints/last.safetensors" ]; then
        "$BIN/wsol-train" --resume "$OUT/pretrain"
    else
        "$BIN/wsol-train" --preset vit-synth --data "$OUT/data/ILSVRC" --out "$OUT/pretrain" \
            --epochs $PRE_EPOCHS --device "$DEVICE"
    fi
fi

echo "== 3/3 SAT on the CUB-layout images, initialised from it -> $OUT/sat"
if [ ! -f "$OUT/sat/report/report.json" ]; then
    if [ -f "$OUT/sat/checkpoints/last.safetensors" ]; then
        "$BIN/wsol-train" --resume "$OUT/sat"
    else
        "$BIN/wsol-train" --preset sat-synth --data "$OUT/data" --out "$OUT/sat" \
            --init "$OUT/pretrain/checkpoints/last.safetensors" --epochs $SAT_EPOCHS --device "$DEVICE"
    fi
fi

echo
echo "demo finished in $(( $(date +%s) - start )) s"
echo "SAT on the synthetic test split (%):"
sed -n '/^Top-1 Loc/,$p' "$OUT/sat/report/report.txt"
echo "report: $OUT/sat/report/report.html"
