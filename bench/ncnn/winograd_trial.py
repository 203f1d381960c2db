#!/usr/bin/python3
"""Would a Winograd 3x3 path close srkit's gap to ncnn (bench/ncnn/ncnn_speed.sh)? A trial on the
layer that dominates Real-ESRGAN x4fast and x4plus: a 64 -> 64 channel 3x3 convolution, stride 1,
on a 128x128 map, fp32, batch 1. Debian's python3-torch (benchmark only) times, median of 20:

  conv2d            the direct convolution (oneDNN; what srkit runs), contiguous and channels_last
  F(4x4,3x3) gemm   only the 36 transform-domain products of Winograd F(4x4,3x3) (Lavin and Gray
                    2016): a batched [64x64] x [64 x 1024 tiles] matrix product, the part that
                    does 4x fewer multiplies than the direct convolution
  F(4x4,3x3) full   the same with the input and output transforms written as torch ops (einsum),
                    checked against conv2d

The gemm row is a lower bound on a Winograd layer's time; the full row shows what transforms
written as framework ops cost. Both run on the same machine in the same run.

    /usr/bin/python3 bench/ncnn/winograd_trial.py [THREADS]
"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

BT = torch.tensor([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                   [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
                  dtype=torch.float32)
G = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
                 dtype=torch.float32)
AT = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                   [0, 1, -1, 8, -8, 1]], dtype=torch.float32)


def transform_weights(w):
    """[Co, Ci, 3, 3] -> [36, Co, Ci]: G g G^T for every filter."""
    u = torch.einsum('ik,oqkl,jl->ijoq', G, w, G)
    return u.reshape(36, w.shape[0], w.shape[1]).contiguous()


def winograd(x, u, bias):
    n, c, h, w = x.shape
    th, tw = (h + 3) // 4, (w + 3) // 4
    padded = F.pad(x, (1, tw * 4 + 1 - w, 1, th * 4 + 1 - h))
    tiles = padded.unfold(2, 6, 4).unfold(3, 6, 4)  # n, c, th, tw, 6, 6
    v = torch.einsum('ik,nchwkl,jl->ijcnhw', BT, tiles, BT).reshape(36, c, n * th * tw)
    m = torch.bmm(u, v).reshape(6, 6, u.shape[1], n, th, tw)
    y = torch.einsum('ik,klonhw,jl->nohiwj', AT, m, AT).reshape(n, u.shape[1], th * 4, tw * 4)
    return y[:, :, :h, :w] + bias.view(1, -1, 1, 1)


def median_seconds(run, repeats=20):
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(1, 64, 128, 128)
    w = torch.randn(64, 64, 3, 3) * 0.05
    b = torch.randn(64)
    u = transform_weights(w)
    error = (winograd(x, u, b) - F.conv2d(x, w, b, padding=1)).abs().max().item()
    x_last = x.contiguous(memory_format=torch.channels_last)
    v = torch.randn(36, 64, 32 * 32)
    with torch.no_grad():
        rows = [
            ('conv2d contiguous', median_seconds(lambda: F.conv2d(x, w, b, padding=1))),
            ('conv2d channels_last', median_seconds(lambda: F.conv2d(x_last, w, b, padding=1))),
            ('F(4x4,3x3) gemm only', median_seconds(lambda: torch.bmm(u, v))),
            ('F(4x4,3x3) full, einsum transforms', median_seconds(lambda: winograd(x, u, b))),
        ]
    direct = rows[0][1]
    print(f'| 64->64 3x3 conv, 128x128, fp32, {threads} threads | ms | vs conv2d contiguous |')
    print('|---|---|---|')
    for name, seconds in rows:
        print(f'| {name} | {seconds * 1e3:.2f} | {direct / seconds:.2f}x |')
    print(f'Winograd vs conv2d max abs difference: {error:.1e}')


if __name__ == '__main__':
    main()
