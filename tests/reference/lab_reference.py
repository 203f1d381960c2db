# Reference values for tests/unit/conformal_scores_test.cpp (Color.LabMatchesSkimage):
# CIE Lab of five sRGB colours by skimage.color.rgb2lab. Run with Debian's python3-skimage:
#   /usr/bin/python3 tests/reference/lab_reference.py
import numpy as np
from skimage.color import rgb2lab

colours = np.array([[[0, 0, 0], [1, 1, 1], [1, 0, 0], [0.2, 0.5, 0.8], [0.9, 0.7, 0.1]]])
np.set_printoptions(precision=10, suppress=True)
print(rgb2lab(colours)[0])
