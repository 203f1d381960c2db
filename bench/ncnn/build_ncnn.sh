#!/usr/bin/env bash
# Builds the ncnn reference (CPU only, from ../shared/third_party) and bench/ncnn/ncnn_upscale
# against it, into build-ncnn/ (ignored). Never part of srkit: ncnn is the parity reference and
# the speed peer. About 10 minutes on 2 cores the first time; nothing when already built.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${NCNN_BUILD:-$root/build-ncnn}
tarball=${NCNN_TARBALL:-$root/../shared/third_party/ncnn-a4d2ea1d4.tar.gz}
src=$out/ncnn-a4d2ea1d4
mkdir -p "$out"
if [ ! -f "$out/lib/src/libncnn.a" ]; then
  [ -f "$tarball" ] || { echo "build_ncnn: $tarball not found (set NCNN_TARBALL)" >&2; exit 2; }
  [ -d "$src" ] || tar xzf "$tarball" -C "$out"
  cmake -S "$src" -B "$out/lib" -DCMAKE_BUILD_TYPE=Release -DNCNN_VULKAN=OFF \
    -DNCNN_BUILD_TOOLS=OFF -DNCNN_BUILD_EXAMPLES=OFF -DNCNN_BUILD_BENCHMARK=OFF \
    -DNCNN_BUILD_TESTS=OFF -DNCNN_SHARED_LIB=OFF >/dev/null
  cmake --build "$out/lib" -j "$(nproc)"
fi
if [ ! -x "$out/ncnn_upscale" ] || [ "$root/bench/ncnn/ncnn_upscale.cpp" -nt "$out/ncnn_upscale" ]; then
  g++ -O2 -std=c++17 -fopenmp "$root/bench/ncnn/ncnn_upscale.cpp" -o "$out/ncnn_upscale" \
    -I"$src/src" -I"$out/lib/src" "$out/lib/src/libncnn.a" \
    $(pkg-config --cflags --libs opencv4) -lpthread
fi
# A PNG cropper for the scripts here (the bench machines have no Python OpenCV).
if [ ! -x "$out/crop_png" ]; then
  cat > "$out/crop_png.cpp" <<'CPP'
#include <cstdlib>
#include <opencv2/imgcodecs.hpp>
int main(int, char** a) {  // crop_png IN OUT X Y W H
  cv::Mat m = cv::imread(a[1], cv::IMREAD_COLOR);
  cv::Rect r(std::atoi(a[3]), std::atoi(a[4]), std::atoi(a[5]), std::atoi(a[6]));
  return cv::imwrite(a[2], m(r).clone()) ? 0 : 1;
}
CPP
  g++ -O1 "$out/crop_png.cpp" -o "$out/crop_png" $(pkg-config --cflags --libs opencv4)
fi
echo "$out/ncnn_upscale"
