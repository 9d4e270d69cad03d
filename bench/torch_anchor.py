#!/usr/bin/env python3
"""PyTorch anchor for the bench: times the rows of a bench results JSON that carry a `torch`
spec (matmul, conv2d forward / input grad / weight grad) with PyTorch on CUDA, and writes the
medians back into the same JSON as `anchor` (render the markdown again with
`node --import tsx bench/run.ts --render FILE`).

fp32 throughout with TF32 disabled, so the numbers compare with WebGPU's f32 kernels. Timing:
warm-up runs (cuDNN autotuning included), then CUDA events around each repetition, median.

Usage: python3 bench/torch_anchor.py bench/results/<adapter>.json [--reps 20] [--warmup 5]
"""
import argparse
import json
import statistics
import sys


def quantile(sorted_values, q):
    """Linear interpolation, as bench/timing.ts does."""
    pos = (len(sorted_values) - 1) * q
    lo, hi = int(pos // 1), int(-(-pos // 1))
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(samples_ms):
    s = sorted(samples_ms)
    return {"median": statistics.median(s), "min": s[0], "max": s[-1],
            "q1": quantile(s, 0.25), "q3": quantile(s, 0.75), "reps": len(s)}


def time_cuda(torch, fn, warmup, reps, burst):
    """CUDA events around `burst` back-to-back calls, per call: the bench's GPU burst (results
    gpuTiming.burst) so both sides time the same span."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(burst):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / burst)
    return summarize(samples)


def make_matmul(torch, spec):
    lead = [spec["batch"]] if spec["batch"] > 1 else []
    a = torch.randn(*lead, spec["m"], spec["k"], device="cuda")
    b = torch.randn(*lead, spec["k"], spec["n"], device="cuda")
    return lambda: torch.matmul(a, b)


def make_conv(torch, spec):
    """Same passes as bench/cases/conv.ts: the gradient rows include their forward pass."""
    F = torch.nn.functional
    x = torch.randn(spec["n"], spec["c"], spec["h"], spec["w"], device="cuda")
    w = torch.randn(spec["o"], spec["c"], spec["kernel"], spec["kernel"], device="cuda")
    conv = lambda xv, wv: F.conv2d(xv, wv, stride=spec["stride"], padding=spec["padding"])
    dy = torch.randn_like(conv(x, w))
    if spec["pass"] == "forward":
        return lambda: conv(x, w)
    if spec["pass"] == "inputGrad":
        xg = x.clone().requires_grad_(True)
        return lambda: torch.autograd.grad(conv(xg, w), xg, dy)
    wg = w.clone().requires_grad_(True)
    return lambda: torch.autograd.grad(conv(x, wg), wg, dy)


MAKERS = {"matmul": make_matmul, "conv2d": make_conv}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", help="bench results JSON, updated in place")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        print("torch_anchor: PyTorch is not installed; no anchor.", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("torch_anchor: no CUDA device; no anchor.", file=sys.stderr)
        return 2
    # fp32 for real: no TF32 tensor cores in matmul or cuDNN convolutions.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)

    with open(args.results) as f:
        results = json.load(f)
    burst = int(results.get("gpuTiming", {}).get("burst", 1))
    timed = 0
    for row in results["rows"]:
        spec = row.get("torch")
        if not spec or spec["kind"] not in MAKERS:
            continue
        with torch.no_grad() if spec.get("pass", "forward") == "forward" else torch.enable_grad():
            stats = time_cuda(torch, MAKERS[spec["kind"]](torch, spec), args.warmup, args.reps, burst)
        row["anchor"] = {"torchMs": stats["median"], "torchStats": stats}
        timed += 1
        print(f"torch_anchor: {row['id']}: {stats['median']:.3f} ms")
        torch.cuda.empty_cache()
    results["anchorDevice"] = (
        f"{torch.cuda.get_device_name()} (PyTorch {torch.__version__}, CUDA {torch.version.cuda}, "
        f"cuDNN {torch.backends.cudnn.version()}, TF32 off, cudnn.benchmark on"
        + (f", {burst} calls per timed sample" if burst > 1 else "") + ")"
    )
    with open(args.results, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(f"torch_anchor: {timed} rows anchored in {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
