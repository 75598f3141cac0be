#!/usr/bin/env python3
"""Exports the BatchNorm layers of a PyTorch model as folders of .npy files that
dev.vecnorm.io.BatchNormState.load reads: <out>/<layer name>/{weight,bias,running_mean,running_var,
num_batches_tracked}.npy, the names of the layer's state_dict keys.

  python3 scripts/export_batchnorm.py MODEL.pt OUT     MODEL.pt: a state_dict or a whole module (torch.save)
  python3 scripts/export_batchnorm.py --demo OUT       a BatchNorm2d(3) trained for 3 steps, exported to OUT/bn,
                                                       with an input OUT/x.npy and its eval-mode output computed in
                                                       float64 (OUT/y_float64.npy): the fixture of BatchNormStateTest
"""
import os
import sys

import numpy as np
import torch

STATE = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def batchnorm_layers(state):
    """Layer name -> {key: tensor} for every prefix that has a running_mean or a weight with BN's siblings."""
    layers = {}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        if leaf in STATE:
            layers.setdefault(prefix, {})[leaf] = value
    return {name: parts for name, parts in layers.items() if "running_mean" in parts}


def export(state, out):
    for name, parts in batchnorm_layers(state).items():
        folder = os.path.join(out, name or "bn")
        os.makedirs(folder, exist_ok=True)
        for leaf, tensor in parts.items():
            array = tensor.detach().cpu().numpy()
            if leaf == "num_batches_tracked":
                array = array.astype(np.int64)
            elif array.dtype not in (np.float32, np.float64):
                array = array.astype(np.float32)
            np.save(os.path.join(folder, leaf + ".npy"), array)
        print(folder, sorted(parts))


def demo(out):
    torch.manual_seed(7)
    model = torch.nn.Sequential()
    model.add_module("bn", torch.nn.BatchNorm2d(3, momentum=0.1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    for _ in range(3):
        x = torch.randn(4, 3, 5, 5) * 2 + 1
        loss = (model(x) * torch.arange(75.0).reshape(3, 5, 5)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    export(model.state_dict(), out)
    x = torch.randn(2, 3, 4, 4) * 3 - 2
    np.save(os.path.join(out, "x.npy"), x.numpy())
    with torch.no_grad():
        y = model.double().eval()(x.double())
    np.save(os.path.join(out, "y_float64.npy"), y.numpy())


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "--demo":
        demo(argv[2])
        return 0
    loaded = torch.load(argv[1], map_location="cpu")
    state = loaded.state_dict() if isinstance(loaded, torch.nn.Module) else loaded
    export(state, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
