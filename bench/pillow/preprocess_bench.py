#!/usr/bin/python3
"""Pillow side of myriad's image preprocessing benchmark.

Times decode + resize + normalise per image on one core over the image sets
that `go run ./imgproc/cmd/imgbench` writes, using the transforms a
torchvision user would (Resize -> CenterCrop -> ToTensor -> Normalize on
PIL images), implemented with Pillow and NumPy directly so no PyTorch is
needed. Then compares its tensors with the ones imgbench dumped.

Run with Debian's Python and packages (python3-pil, python3-numpy):

    /usr/bin/python3 bench/pillow/preprocess_bench.py --dir /tmp/imgbench

Pillow decodes and resizes on the calling thread; NumPy's thread pools are
limited to one thread below, so this measures one core.
"""
import argparse
import io
import os
import struct
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

IMAGENET = dict(resize=256, crop=224, gray=False,
                mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
SETS = {
    "mnist-png-28": dict(resize=32, crop=None, gray=True, mean=[0.1307], std=[0.3081]),
    "photo-jpeg-500x375": IMAGENET,
    "photo-jpeg-full": IMAGENET,
}


def resize_shorter(img, size):
    # torchvision _compute_resized_output_size, then PIL BILINEAR
    w, h = img.size
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    return img.resize((nw, nh), Image.BILINEAR)


def center_crop(img, size):
    # torchvision center_crop: int(round((H - h) / 2))
    w, h = img.size
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def preprocess(data, p):
    img = Image.open(io.BytesIO(data))
    img = img.convert("L" if p["gray"] else "RGB")
    img = resize_shorter(img, p["resize"])
    if p["crop"]:
        img = center_crop(img, p["crop"])
    x = np.asarray(img, dtype=np.float32) / np.float32(255)  # ToTensor
    if x.ndim == 2:
        x = x[:, :, None]
    x = x.transpose(2, 0, 1)  # HWC -> CHW
    mean = np.asarray(p["mean"], dtype=np.float32)[:, None, None]
    std = np.asarray(p["std"], dtype=np.float32)[:, None, None]
    return np.ascontiguousarray((x - mean) / std)  # Normalize


def read_myrt(path):
    """Reads a tensor in myriad's format (see tensor/doc.go)."""
    b = open(path, "rb").read()
    if b[:4] != b"MYRT" or b[4] != 1 or b[5] != 1:
        raise ValueError(f"{path}: not a version-1 float32 tensor")
    ndim = b[6]
    dims = struct.unpack_from("<%dI" % ndim, b, 8)
    return np.frombuffer(b, dtype="<f4", offset=8 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/imgbench")
    ap.add_argument("--seconds", type=float, default=1.0, help="CPU seconds per round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per set; best and median are reported")
    ap.add_argument("--set", default=None, help="measure only this set")
    ap.add_argument("--blocks-max", type=int, default=None,
                    help="Pillow's PILLOW_BLOCKS_MAX: freed image blocks kept for reuse "
                         "(default: Pillow's own, which returns them to the OS)")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.dir, "READY")):
        sys.exit(f"{args.dir}: run `go run ./imgproc/cmd/imgbench -dir {args.dir}` first")
    if args.blocks_max is not None:
        Image.core.set_blocks_max(args.blocks_max)
    import PIL
    print(f"Pillow {PIL.__version__}, NumPy {np.__version__}, Python {sys.version.split()[0]}, "
          f"blocks_max {Image.core.get_blocks_max()}")
    print("%-20s %7s %12s %12s %10s %12s   %s" % (
        "set", "images", "img/CPU-s", "median", "CPU ms/img", "decode img/s", "vs Go tensors"))
    for name, p in SETS.items():
        if args.set and name != args.set:
            continue
        folder = os.path.join(args.dir, name)
        names = sorted(os.listdir(folder))
        files = [open(os.path.join(folder, n), "rb").read() for n in names]
        mode = "L" if p["gray"] else "RGB"
        dec = rates(files, args.rounds, args.seconds, lambda d: Image.open(io.BytesIO(d)).convert(mode))
        full = rates(files, args.rounds, args.seconds, lambda d: preprocess(d, p))
        cmp = compare(args.dir, name, names, files, p)
        print("%-20s %7d %12.1f %12.1f %10.3f %12.1f   %s" % (
            name, len(files), full[-1], full[len(full) // 2], 1000 / full[-1], dec[-1], cmp))


def rates(files, rounds, seconds, fn):
    """Images per CPU-second of each round (whole passes for at least
    `seconds` of this process's CPU time, after a warm-up pass), sorted.
    CPU time rather than wall time because the machine is shared; the best
    round is the closest to the true cost and the median shows the spread."""
    for data in files:
        fn(data)
    out = []
    for _ in range(rounds):
        n, start = 0, time.process_time()
        while time.process_time() - start < seconds:
            for data in files:
                fn(data)
            n += len(files)
        out.append(n / (time.process_time() - start))
    return sorted(out)


def compare(root, name, names, files, p):
    folder = os.path.join(root, "go-tensors", name)
    if not os.path.isdir(folder):
        return "(no Go tensors)"
    worst, total, count = 0.0, 0.0, 0
    for n, data in zip(names, files):
        path = os.path.join(folder, n + ".myrt")
        if not os.path.exists(path):
            continue
        go, py = read_myrt(path), preprocess(data, p)
        if go.shape != py.shape:
            return f"shape {go.shape} vs {py.shape} for {n}"
        d = np.abs(go - py)
        worst, total, count = max(worst, float(d.max())), total + float(d.sum()), count + d.size
    # Differences in units of one 8-bit level after normalisation
    # (1/255/std), so they read as "levels".
    level = 1 / 255 / min(p["std"])
    return "max |diff| %.4f (%.1f levels), mean %.5f over %d values" % (
        worst, worst / level, total / max(count, 1), count)


if __name__ == "__main__":
    main()
