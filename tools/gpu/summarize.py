"""Summary table of one tools/gpu/run.sh run: test counts (passed / failed / skipped) with the
failures' first lines, then every benchmark figure of bench_cuda next to PyTorch's for the same name
(bench/compare/cuda_*.py), with the ratio wsol / PyTorch.

    python3 tools/gpu/summarize.py <results-folder>
"""
import json
import os
import sys


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def tests(folder):
    report = load_json(os.path.join(folder, "test_cuda.json"))
    if report is None:
        log = os.path.join(folder, "test_cuda.log")
        return ["test_cuda: no JSON report (not run, or it crashed: see " + log + ")"]
    passed = failed = skipped = 0
    failures = []
    for suite in report.get("testsuites", []):
        for test in suite.get("testsuite", []):
            name = f"{suite['name']}.{test['name']}"
            if test.get("result") == "SKIPPED":
                skipped += 1
            elif test.get("failures"):
                failed += 1
                first = test["failures"][0].get("failure", "").strip().splitlines()
                failures.append(f"  FAILED {name}: {' | '.join(first[:3])[:300]}")
            else:
                passed += 1
    lines = [f"test_cuda: {passed + failed + skipped} tests: {passed} passed, {failed} failed, {skipped} skipped"]
    return lines + failures


def benchmarks(folder):
    report = load_json(os.path.join(folder, "bench_cuda.json"))
    ours = {}
    context = ""
    if report:
        ctx = report.get("context", {})
        context = f" ({ctx.get('host_name', '')}, {ctx.get('date', '')})"
        for b in report.get("benchmarks", []):
            for unit in ("TFLOP/s", "GB/s", "images/s"):
                if unit in b:
                    ours[b["name"].replace("/manual_time", "")] = (b[unit], unit, b.get("real_time"))
    theirs = {}
    try:
        with open(os.path.join(folder, "torch.jsonl")) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    theirs[r["name"]] = (r["value"], r["unit"], r.get("ms"))
    except OSError:
        pass
    if not ours and not theirs:
        log = os.path.join(folder, "bench_cuda.log")
        first = open(log).read().strip().splitlines()[:1] if os.path.exists(log) else ["not run"]
        return ["benchmarks: none (" + (first[0] if first else "no output") + ")"]
    lines = [f"benchmarks{context}", f"{'name':40s} {'wsol':>12s} {'ms':>9s} {'PyTorch':>12s} {'ms':>9s} {'ratio':>7s}  unit"]
    for name in sorted(set(ours) | set(theirs)):
        w = ours.get(name)
        t = theirs.get(name)
        unit = (w or t)[1]
        ratio = f"{w[0] / t[0]:7.2f}" if w and t and t[0] > 0 else f"{'':7s}"
        fmt = lambda r, i: (f"{r[i]:12.2f}" if i == 0 else f"{r[i]:9.3f}") if r and r[i] is not None else f"{'-':>{12 if i == 0 else 9}s}"
        lines.append(f"{name:40s} {fmt(w, 0)} {fmt(w, 2)} {fmt(t, 0)} {fmt(t, 2)} {ratio}  {unit}")
    return lines


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "."
    print("\n".join(["== summary"] + tests(folder) + [""] + benchmarks(folder)))


if __name__ == "__main__":
    main()
