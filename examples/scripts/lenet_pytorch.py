#!/usr/bin/python3
"""The same experiment as `./vecnorm lenet`, in PyTorch (Debian's python3-torch): d2l's sigmoid LeNet on
Fashion-MNIST with and without BatchNorm, SGD lr 1.0, batch 256, Xavier-uniform weights, seeded.

  /usr/bin/python3 examples/scripts/lenet_pytorch.py [EPOCHS] [THREADS] [DATA_DIR]

Prints per epoch: train loss and accuracy (running averages, as d2l reports them), test accuracy in eval mode,
seconds of the training epoch, and batch norm's share of a training step (torch.profiler over 20 steps).
"""
import gzip
import sys
import time

import numpy as np
import torch
from torch import nn


def idx(path, images):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if images:
        n = int.from_bytes(data[4:8], "big")
        return torch.from_numpy(np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, 28, 28).astype(np.float32)
                                / 255)
    return torch.from_numpy(np.frombuffer(data, np.uint8, offset=8).astype(np.int64))


def lenet(bn):
    def norm(layer):
        return [layer] if bn else []
    layers = [nn.Conv2d(1, 6, kernel_size=5), *norm(nn.BatchNorm2d(6)), nn.Sigmoid(), nn.AvgPool2d(2, 2),
              nn.Conv2d(6, 16, kernel_size=5), *norm(nn.BatchNorm2d(16)), nn.Sigmoid(), nn.AvgPool2d(2, 2),
              nn.Flatten(), nn.Linear(256, 120), *norm(nn.BatchNorm1d(120)), nn.Sigmoid(),
              nn.Linear(120, 84), *norm(nn.BatchNorm1d(84)), nn.Sigmoid(), nn.Linear(84, 10)]
    net = nn.Sequential(*layers)
    for m in net:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
    return net


def bn_share(net, x, y, loss, opt):
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(20):
            xb, yb = x[i * 256:(i + 1) * 256], y[i * 256:(i + 1) * 256]
            opt.zero_grad()
            loss(net(xb), yb).backward()
            opt.step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    bn = sum(e.self_cpu_time_total for e in events if "batch_norm" in e.key)
    return bn / total


def run(bn, epochs, train, test):
    torch.manual_seed(1)
    net = lenet(bn)
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    loss = nn.CrossEntropyLoss()
    x, y = train
    print("with BatchNorm" if bn else "without BatchNorm")
    print("epoch train_loss train_acc test_acc  seconds  bn_share")
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(len(y))
        total, correct, start = 0.0, 0, time.perf_counter()
        for i in range(0, len(y), 256):
            idx_ = order[i:i + 256]
            xb, yb = x[idx_], y[idx_]
            opt.zero_grad()
            out = net(xb)
            l = loss(out, yb)
            l.backward()
            opt.step()
            total += l.item() * len(yb)
            correct += (out.argmax(1) == yb).sum().item()
        seconds = time.perf_counter() - start
        net.eval()
        with torch.no_grad():
            hits = sum((net(test[0][i:i + 256]).argmax(1) == test[1][i:i + 256]).sum().item()
                       for i in range(0, len(test[1]), 256))
        share = 0.0
        if bn and epoch == epochs:
            net.train()
            share = bn_share(net, x, y, loss, opt)
        print(f"{epoch:5d} {total / len(y):10.4f} {correct / len(y):9.3f} {hits / len(test[1]):8.3f} "
              f"{seconds:8.2f} {100 * share:8.1f}%", flush=True)


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    data = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/datasets/fashion-mnist"
    torch.set_num_threads(threads)
    train = (idx(f"{data}/train-images-idx3-ubyte.gz", True), idx(f"{data}/train-labels-idx1-ubyte.gz", False))
    test = (idx(f"{data}/t10k-images-idx3-ubyte.gz", True), idx(f"{data}/t10k-labels-idx1-ubyte.gz", False))
    print(f"PyTorch {torch.__version__}, {threads} threads")
    for bn in (True, False):
        run(bn, epochs, train, test)


if __name__ == "__main__":
    main()
