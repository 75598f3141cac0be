#!/usr/bin/python3
"""PyTorch CPU batch-norm timings for vecnorm's compare command.

Runs torch.nn.functional.batch_norm (training and eval) and torch.ops.aten.native_batch_norm_backward on the
given NCHW shapes and writes one JSON list of {shape, op, ms, threads, capability, torch}. Times are medians of
wall-clock repetitions after warm-up, with torch.no_grad() (kernel time, no autograd bookkeeping).

Run it with Debian's python3-torch (/usr/bin/python3). The caller sets ATEN_CPU_CAPABILITY (avx2 or avx512)
and, for kernel-only times on outputs over 32 MiB, GLIBC_TUNABLES=glibc.malloc.mmap_max=0:... so that
allocations are not mmap'ed (and page-faulted) anew on every call.
"""
import argparse
import json
import os
import statistics
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", required=True, help="comma-separated NxCxHxW shapes")
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
        for spec in args.shapes.split(","):
            dims = [int(d) for d in spec.split("x")]
            c = dims[1]
            gen = torch.Generator().manual_seed(1)
            x = torch.randn(dims, generator=gen) + 0.5
            dy = torch.randn(dims, generator=gen)
            weight = torch.rand(c, generator=gen) + 0.5
            bias = torch.randn(c, generator=gen)
            running_mean = torch.zeros(c)
            running_var = torch.ones(c)

            def training():
                return F.batch_norm(x, running_mean, running_var, weight, bias, True, 0.1, 1e-5)

            def inference():
                return F.batch_norm(x, running_mean, running_var, weight, bias, False, 0.1, 1e-5)

            _, save_mean, save_invstd = torch.ops.aten.native_batch_norm(
                x, weight, bias, running_mean, running_var, True, 0.1, 1e-5)

            def backward():
                return torch.ops.aten.native_batch_norm_backward(
                    dy, x, weight, running_mean, running_var, save_mean, save_invstd, True, 1e-5,
                    [True, True, True])

            for op, fn in (("training", training), ("inference", inference), ("backward", backward)):
                ms = median_ms(fn, args.warmup, args.reps, args.min_seconds)
                results.append({"shape": spec, "op": op, "ms": ms, "threads": args.threads,
                                "capability": capability, "torch": torch.__version__})
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
