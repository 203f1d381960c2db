#!/usr/bin/python3
"""Reference values for srkit's metric tests, computed independently of srkit with NumPy and
scikit-image (Debian: python3-skimage). Rerun after `scripts/setup.sh`:

    /usr/bin/python3 tests/reference/metric_references.py

Pair: data/samples/motorcycle_left.png (test) vs motorcycle_right.png (reference), two real photos
of the same size. Protocol: BT.601 Y on 0..255 (Y = 16 + 65.481 R + 128.553 G + 24.966 B for RGB in
[0,1]), border crop 4, float64; SSIM with an 11x11 Gaussian window (sigma 1.5), population
covariance, valid region (skimage filters then drops 5 pixels per side, which equals valid
filtering); LSD on Y/255 with P = |FFT2|^2 and eps 1e-8.
"""
import os

import numpy as np
from skimage import io
from skimage.metrics import structural_similarity

root = os.path.join(os.path.dirname(__file__), "..", "..")


def y255(path):
    rgb = io.imread(os.path.join(root, path)).astype(np.float64)[..., :3] / 255.0
    return 16.0 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]


crop = 4
test = y255("data/samples/motorcycle_left.png")[crop:-crop, crop:-crop]
ref = y255("data/samples/motorcycle_right.png")[crop:-crop, crop:-crop]

mse = np.mean((test - ref) ** 2)
psnr = 10 * np.log10(255.0**2 / mse)
ssim = structural_similarity(test, ref, gaussian_weights=True, sigma=1.5,
                             use_sample_covariance=False, data_range=255)
p_test = np.abs(np.fft.fft2(test / 255.0)) ** 2
p_ref = np.abs(np.fft.fft2(ref / 255.0)) ** 2
lsd = np.sqrt(np.mean((10 * np.log10((p_ref + 1e-8) / (p_test + 1e-8))) ** 2))
print(f"psnr_y_crop4 = {psnr:.10f}")
print(f"ssim_y_crop4 = {ssim:.10f}")
print(f"lsd_y_crop4 = {lsd:.10f}")
