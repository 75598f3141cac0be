#!/usr/bin/python3
"""PyTorch CPU timings of the normalization family for vecnorm's compare command (--ops other than batchnorm).

Each case is "suite:shape" or "suite:shape:layout" (layout channels-first or channels-last); writes one JSON list
of {shape: the case as given, op, ms, threads, capability, torch}. Times are medians of wall-clock repetitions
after warm-up, under torch.no_grad() (kernel time, no autograd bookkeeping) except RMSNorm's backward, which is
autograd's backward through the forward's ops (the graph is built once and kept).

  layernorm      forward F.layer_norm over the last dim; backward aten native_layer_norm_backward
  rmsnorm        LLaMA's x * rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w (torch 1.13 has no RMSNorm op)
  groupnorm      32 groups: forward F.group_norm; backward aten native_group_norm_backward
  instancenorm   the same with C groups (what F.instance_norm computes, without its batch-norm reshape)
  channels-last  F.batch_norm training and eval, aten native_batch_norm_backward
  fused          F.batch_norm training and eval alone, then with ReLU (F.relu_, as nn.ReLU(inplace=True)) and
                 with the residual (y += z; F.relu_(y): ResNet's block ending)

Channels-last cases use torch.channels_last tensors (channels_last_3d for rank 5; other ranks are skipped).
Run it with Debian's python3-torch (/usr/bin/python3); the caller sets ATEN_CPU_CAPABILITY and GLIBC_TUNABLES
as for pytorch_bench.py.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def median_ms(fn, warmup, reps, min_seconds):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
        if len(times) >= 10 * reps:
            break
    return statistics.median(times)


def to_layout(t, layout):
    if layout != "channels-last":
        return t
    if t.dim() == 4:
        return t.contiguous(memory_format=torch.channels_last)
    if t.dim() == 5:
        return t.contiguous(memory_format=torch.channels_last_3d)
    raise ValueError("channels-last needs rank 4 or 5 in torch, got rank %d" % t.dim())


def rms(t, weight):
    return t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + 1e-6) * weight


def case_ops(suite, dims, layout, gen):
    """(op, fn) pairs of one case."""
    aten = torch.ops.aten
    x = to_layout(torch.randn(dims, generator=gen) + 0.5, layout)
    dy = to_layout(torch.randn(dims, generator=gen), layout)
    if suite in ("layernorm", "rmsnorm"):
        d = dims[-1]
        w = torch.rand(d, generator=gen) + 0.5
        b = torch.randn(d, generator=gen)
        if suite == "layernorm":
            _, mean, rstd = aten.native_layer_norm(x, [d], w, b, 1e-5)
            return [("forward", lambda: F.layer_norm(x, [d], w, b, 1e-5)),
                    ("backward", lambda: aten.native_layer_norm_backward(dy, x, [d], mean, rstd, w, b,
                                                                         [True, True, True]))]
        xg = x.clone().requires_grad_(True)
        wg = w.clone().requires_grad_(True)
        with torch.enable_grad():
            out = rms(xg, wg)

        def backward():
            xg.grad = None
            wg.grad = None
            with torch.enable_grad():
                out.backward(dy, retain_graph=True)
        return [("forward", lambda: rms(x, w)), ("backward", backward)]
    n, c = dims[0], dims[1]
    hw = 1
    for s in dims[2:]:
        hw *= s
    w = torch.rand(c, generator=gen) + 0.5
    b = torch.randn(c, generator=gen)
    if suite in ("groupnorm", "instancenorm"):
        groups = 32 if suite == "groupnorm" else c
        _, mean, rstd = aten.native_group_norm(x, w, b, n, c, hw, groups, 1e-5)
        return [("forward", lambda: F.group_norm(x, groups, w, b, 1e-5)),
                ("backward", lambda: aten.native_group_norm_backward(dy, x, mean, rstd, w, n, c, hw, groups,
                                                                     [True, True, True]))]
    running_mean = torch.zeros(c)
    running_var = torch.ones(c)

    def bn(training):
        return F.batch_norm(x, running_mean, running_var, w, b, training, 0.1, 1e-5)
    if suite == "channels-last":
        _, save_mean, save_invstd = aten.native_batch_norm(x, w, b, running_mean, running_var, True, 0.1, 1e-5)
        return [("training", lambda: bn(True)), ("inference", lambda: bn(False)),
                ("backward", lambda: aten.native_batch_norm_backward(dy, x, w, running_mean, running_var,
                                                                     save_mean, save_invstd, True, 1e-5,
                                                                     [True, True, True]))]
    if suite == "fused":
        z = to_layout(torch.randn(dims, generator=gen), layout)

        def add_relu():
            y = bn(False)
            y += z
            return F.relu_(y)
        return [("training", lambda: bn(True)), ("training+relu", lambda: F.relu_(bn(True))),
                ("inference", lambda: bn(False)), ("inference+relu", lambda: F.relu_(bn(False))),
                ("inference+add+relu", add_relu)]
    raise ValueError("unknown suite " + suite)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", required=True, help="comma-separated suite:shape[:layout]")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    capability = os.environ.get("ATEN_CPU_CAPABILITY", "default")
    results = []
    with torch.no_grad():
        for case in args.cases.split(","):
            parts = case.split(":")
            suite, dims = parts[0], [int(d) for d in parts[1].split("x")]
            layout = parts[2] if len(parts) > 2 else "channels-first"
            gen = torch.Generator().manual_seed(1)
            try:
                ops = case_ops(suite, dims, layout, gen)
            except (ValueError, RuntimeError) as e:
                print("pytorch_family_bench: %s skipped: %s" % (case, e), file=sys.stderr)
                continue
            for op, fn in ops:
                ms = median_ms(fn, args.warmup, args.reps, args.min_seconds)
                results.append({"shape": case, "op": op, "ms": ms, "threads": args.threads,
                                "capability": capability, "torch": torch.__version__})
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
