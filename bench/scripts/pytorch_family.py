#!/usr/bin/python3
"""PyTorch CPU timings of the normalization family on the shapes of vecnorm's FamilyBenchmark (JMH).

Forward and backward of F.layer_norm (aten native_layer_norm / native_layer_norm_backward), RMSNorm as LLaMA's
reference code writes it (x * rsqrt(mean(x^2) + eps) * w; torch 1.13 has no RMSNorm; backward through autograd),
F.group_norm with 32 groups (native_group_norm / native_group_norm_backward) and InstanceNorm as GroupNorm with one
channel per group (what F.instance_norm computes, without its batch_norm reshape). Medians of wall-clock
repetitions after warm-up, ms. Run with Debian's python3-torch: /usr/bin/python3 bench/scripts/pytorch_family.py
[threads].
"""
import statistics
import sys
import time

import torch


def median_ms(fn, warmup=5, min_reps=10, min_seconds=1.0):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    aten = torch.ops.aten
    cases = [("layer", [4096, 768]), ("layer", [2048, 4096]), ("rms", [1, 4096]), ("rms", [32, 4096]),
             ("rms", [2048, 4096]), ("group32", [8, 256, 64, 64]), ("group32", [2, 512, 32, 32]),
             ("instance", [8, 64, 128, 128]), ("group32-nhwc", [8, 256, 64, 64]),
             ("instance-nhwc", [8, 64, 128, 128])]
    print(f"PyTorch {torch.__version__}, {threads} thread(s), ms (median)")
    print(f"{'case':28s} {'forward':>9s} {'backward':>9s}")
    gen = torch.Generator().manual_seed(1)
    for kind, dims in cases:
        x = torch.randn(dims, generator=gen) + 0.5
        dy = torch.randn(dims, generator=gen)
        if kind in ("layer", "rms"):
            d = dims[-1]
            w = torch.rand(d, generator=gen) + 0.5
            b = torch.randn(d, generator=gen)
            if kind == "layer":
                y, mean, rstd = aten.native_layer_norm(x, [d], w, b, 1e-5)
                fwd = median_ms(lambda: aten.native_layer_norm(x, [d], w, b, 1e-5))
                bwd = median_ms(lambda: aten.native_layer_norm_backward(dy, x, [d], mean, rstd, w, b,
                                                                        [True, True, True]))
            else:
                def rms(t, weight):
                    return t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + 1e-6) * weight
                with torch.no_grad():
                    fwd = median_ms(lambda: rms(x, w))
                xg = x.clone().requires_grad_(True)
                wg = w.clone().requires_grad_(True)

                def backward():
                    out = rms(xg, wg)
                    xg.grad = None
                    wg.grad = None
                    out.backward(dy)
                bwd = median_ms(backward) - fwd  # autograd's forward is part of each call
        else:
            n, c = dims[0], dims[1]
            hw = 1
            for s in dims[2:]:
                hw *= s
            groups = 32 if kind.startswith("group32") else c
            if kind.endswith("-nhwc"):
                # torch's channels_last GroupNorm kernels (F.group_norm keeps the memory format).
                x = x.contiguous(memory_format=torch.channels_last)
                dy = dy.contiguous(memory_format=torch.channels_last)
            w = torch.rand(c, generator=gen) + 0.5
            b = torch.randn(c, generator=gen)
            y, mean, rstd = aten.native_group_norm(x, w, b, n, c, hw, groups, 1e-5)
            fwd = median_ms(lambda: aten.native_group_norm(x, w, b, n, c, hw, groups, 1e-5))
            bwd = median_ms(lambda: aten.native_group_norm_backward(dy, x, mean, rstd, w, n, c, hw, groups,
                                                                    [True, True, True]))
        name = kind + ":" + "x".join(str(v) for v in dims)
        print(f"{name:28s} {fwd:9.3f} {bwd:9.3f}", flush=True)


if __name__ == "__main__":
    main()
