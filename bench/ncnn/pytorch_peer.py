#!/usr/bin/python3
"""The PyTorch peer of bench/ncnn/ncnn_speed.sh: Debian's python3-torch (a benchmark-only
dependency; srkit never needs it) runs the same ncnn network, built layer by layer as torch ops
from the .param/.bin files, fp32, in both memory layouts (channels_last and contiguous), and
prints the median seconds of `repeat` runs on a random image of `size` x `size` in the faster
layout, so the peer runs as well as it can on the machine.

    /usr/bin/python3 bench/ncnn/pytorch_peer.py MODEL.param SIZE THREADS REPEAT

Written for the layers Real-ESRGAN's x4plus and x4fast use (Input, Split, Convolution with
leaky ReLU, PReLU, Concat, Eltwise sum, BinaryOp add, Interp nearest, PixelShuffle)."""
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_param(path):
    lines = open(path).read().split("\n")
    layers = []
    for line in lines[2:]:
        f = line.split()
        if not f:
            continue
        kind, name, nb, nt = f[0], f[1], int(f[2]), int(f[3])
        bottoms, tops = f[4:4 + nb], f[4 + nb:4 + nb + nt]
        params = {}
        for item in f[4 + nb + nt:]:
            k, v = item.split("=")
            k = int(k)
            vals = [float(x) for x in v.split(",")]
            if k <= -23300:
                params[-(k + 23300)] = vals[1:]
            else:
                params[k] = vals[0]
        layers.append((kind, name, bottoms, tops, params))
    return layers


def read_weights(layers, path):
    data = open(path, "rb").read()
    pos = 0

    def raw(n):
        nonlocal pos
        out = np.frombuffer(data, np.float32, n, pos).copy()
        pos += 4 * n
        return torch.from_numpy(out)

    def tagged(n):
        nonlocal pos
        tag = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        if tag == 0x01306B47:
            out = np.frombuffer(data, np.float16, n, pos).astype(np.float32)
            pos += (2 * n + 3) // 4 * 4
            return torch.from_numpy(out)
        return raw(n)

    weights = {}
    for kind, name, _, _, p in layers:
        if kind == "Convolution":
            w = tagged(int(p[6]))
            b = raw(int(p[0])) if p.get(5, 0) else None
            weights[name] = (w, b)
        elif kind == "PReLU":
            weights[name] = (raw(int(p[0])),)
    return weights


def build(layers, weights, layout):
    prepared = {}
    for kind, name, _, _, p in layers:
        if kind == "Convolution":
            w, b = weights[name]
            out, k = int(p[0]), int(p[1])
            w = w.view(out, -1, k, k).contiguous(memory_format=layout)
            prepared[name] = (w, b, int(p.get(4, 0)))
        elif kind == "PReLU":
            prepared[name] = weights[name]

    def forward(x):
        blobs = {}
        for kind, name, bottoms, tops, p in layers:
            ins = [blobs[b] for b in bottoms]
            if kind == "Input":
                y = x
            elif kind == "Split":
                y = ins[0]
            elif kind == "Convolution":
                w, b, pad = prepared[name]
                y = F.conv2d(ins[0], w, b, padding=pad)
                if p.get(9, 0) == 2:
                    y = F.leaky_relu(y, p[10][0], inplace=True)
            elif kind == "PReLU":
                y = F.prelu(ins[0], prepared[name][0])
            elif kind == "Concat":
                y = torch.cat(ins, 1)
            elif kind == "Eltwise":
                c = p.get(1, [1.0] * len(ins))
                y = sum(ci * t for ci, t in zip(c, ins))
            elif kind == "BinaryOp":
                y = ins[0] + ins[1]
            elif kind == "Interp":
                y = F.interpolate(ins[0], scale_factor=p[2], mode="nearest")
            elif kind == "PixelShuffle":
                y = F.pixel_shuffle(ins[0], int(p[0]))
            else:
                raise SystemExit(f"pytorch_peer: layer type {kind} not written here")
            for t in tops:
                blobs[t] = y
        return blobs[layers[-1][3][0]]

    return forward


def main():
    param, size, threads, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    layers = read_param(param)
    weights = read_weights(layers, param[:-6] + ".bin")
    medians = []
    for layout in (torch.channels_last, torch.contiguous_format):
        forward = build(layers, weights, layout)
        x = torch.rand(1, 3, size, size).contiguous(memory_format=layout)
        times = []
        with torch.inference_mode():
            forward(x)
            for _ in range(repeat):
                start = time.perf_counter()
                forward(x)
                times.append(time.perf_counter() - start)
        medians.append(statistics.median(times))
    print(f"{min(medians):.6f}")


if __name__ == "__main__":
    main()
