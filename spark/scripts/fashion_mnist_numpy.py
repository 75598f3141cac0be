#!/usr/bin/env python3
"""float64 cross-check of the Fashion-MNIST training set's mean and std with numpy, read from the IDX files."""
import gzip
import sys

import numpy as np

path = (sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist") + "/train-images-idx3-ubyte.gz"
with gzip.open(path, "rb") as f:
    raw = f.read()
magic, images, rows, cols = np.frombuffer(raw[:16], dtype=">i4")
assert magic == 0x803, hex(magic)
x = np.frombuffer(raw[16:], dtype=np.uint8).reshape(images, rows * cols)
# The same values as the Java reader: float32(pixel / 255), then float64 arithmetic.
x = (x.astype(np.float32) / np.float32(255)).astype(np.float64)
print(f"numpy float64: {images} images of {rows}x{cols}")
print(f"mean {x.mean():.17g}  std (biased) {x.std():.17g}  std (unbiased) {x.std(ddof=1):.17g}")
per_pixel_std = x.std(axis=0, ddof=1)
print(f"per-pixel: mean of means {x.mean(axis=0).mean():.17g}, largest unbiased std {per_pixel_std.max():.17g}")
