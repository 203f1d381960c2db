#!/usr/bin/env bash
# Fuzzing the readers that take files from strangers (issue 20): libFuzzer targets built with
# clang and AddressSanitizer + UndefinedBehaviorSanitizer from the reader sources themselves (not
# the Release build), run from seed corpora of real files for SECONDS in all, shared evenly by the
# targets (each from the corpus its earlier runs grew in $OUT). A crash, an uncaught
# exception or a differential mismatch stops a target and leaves its input in
# $OUT/<target>/crashes; commit it as a regression test. Leaks are not checked (LibTorch keeps
# its allocations). Reports the seconds (one core), runs and coverage.
#   bash bench/fuzz.sh [SECONDS]   (default 600; needs clang and libclang-rt-14-dev)
# Targets:
#   image_readers  read_image (OpenCV, JPEG checks, EXIF) and open_row_reader (libpng, libtiff),
#                  differential: streamed rows == read_image's samples whenever both read a file
#   arrays         NumPy .npy and .npz (libzip), NIfTI .nii and .nii.gz (nifticlib)
#   model_files    TF.js model.json with a weight shard, ncnn .param
#   settings_files calibration JSON (srkit calibrate's), training config YAML
#   rasters        GeoTIFF and the other rasters GDAL reads (read_raster)
#   model_archives srkit's .srkit model files (zip of a network config and .npy weights)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${1:-600}
out=${OUT:-/tmp/srkit-fuzz}
mkdir -p "$out"
srkit=${SRKIT:-build/srkit}

flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -Wno-deprecated-declarations
       -fno-sanitize=vptr -Isrc -I/usr/include/torch/csrc/api/include
       $(pkg-config --cflags opencv4 libexif))
libs=(-ltorch -ltorch_cpu -lc10 $(pkg-config --libs opencv4 libexif) -lpng -ltiff)

build() {  # target, then the srkit sources it reads (and any extra linker flags)
  local target=$1
  shift
  local binary=$out/bin/$target sources=() extra=() arg
  for arg in "$@"; do
    if [[ "$arg" == *.cpp ]]; then sources+=("$arg"); else extra+=("$arg"); fi
  done
  mkdir -p "$out/bin"
  if [ ! -x "$binary" ] ||
     [ -n "$(find "bench/fuzz/$target.cpp" bench/fuzz/*.h "${sources[@]}" -newer "$binary")" ]; then
    echo "building $target (clang, ASan + UBSan) ..." >&2
    clang++ "${flags[@]}" "bench/fuzz/$target.cpp" "${sources[@]}" "${libs[@]}" "${extra[@]}" \
      -o "$binary"
  fi
}

# Seeds: small real photos in the formats the readers take, made by srkit itself, and the files
# of bench/fuzz/seeds.
seeds() {
  local dir=$out/image_readers/seeds
  [ -d "$dir" ] && return
  mkdir -p "$dir"
  cp bench/fuzz/seeds/* "$dir/"  # layouts srkit does not write: a tiled TIFF
  for photo in data/samples/chelsea.png data/samples/camera.png; do
    for ext in png tif jpg webp bmp; do
      "$srkit" degrade "$photo" -o "$dir/$(basename "$photo" .png)_8.$ext" --scale 16 -q
    done
  done
}

# Seeds of the array readers: small arrays in every layout they take, written by Python's standard
# library (no NumPy on these machines) as NumPy and nifticlib lay them out.
array_seeds() {
  local dir=$out/arrays/seeds
  [ -d "$dir" ] && return
  mkdir -p "$dir"
  python3 - "$dir" <<'PY'
import gzip, io, struct, sys, zipfile
out = sys.argv[1]

def npy(descr, shape, payload, fortran=False, version=1):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", repr(tuple(shape)))
    prefix = 10 if version == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + payload

arrays = {
    "f4_2x3.npy": npy("<f4", (2, 3), struct.pack("<6f", 0, 1.5, -2, 3, 4, 5)),
    "u2_2x2_fortran.npy": npy("<u2", (2, 2), struct.pack("<4H", 1, 2, 65535, 4), fortran=True),
    "i8_big_endian.npy": npy(">i8", (3,), struct.pack(">3q", -1, 2, 3)),
    "f8_v2.npy": npy("<f8", (2, 2), struct.pack("<4d", 1, 2, 3, 4), version=2),
}
for name, data in arrays.items():
    open(f"{out}/{name}", "wb").write(data)
for name, method in (("stored.npz", zipfile.ZIP_STORED), ("deflated.npz", zipfile.ZIP_DEFLATED)):
    with zipfile.ZipFile(f"{out}/{name}", "w", method) as z:
        z.writestr("arr_0.npy", arrays["f4_2x3.npy"])
        z.writestr("disparity.npy", arrays["u2_2x2_fortran.npy"])

def nifti(dims, datatype, bitpix, payload, slope=0.0):
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, len(dims), *dims, *([1] * (7 - len(dims))))
    struct.pack_into("<hh", header, 70, datatype, bitpix)
    struct.pack_into("<8f", header, 76, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into("<f", header, 108, 352.0)  # vox_offset
    struct.pack_into("<ff", header, 112, slope, 0.0)
    header[344:348] = b"n+1\0"
    return bytes(header) + b"\0" * 4 + payload

volume = nifti((4, 3, 2), 2, 8, bytes(range(24)))                   # uint8 4x3x2
open(f"{out}/u8_4x3x2.nii", "wb").write(volume)
open(f"{out}/i16_scaled.nii.gz", "wb").write(
    gzip.compress(nifti((2, 2, 2), 4, 16, struct.pack("<8h", *range(-4, 4)), slope=0.5)))
PY
}

build image_readers src/srkit/io/image_io.cpp src/srkit/io/row_reader.cpp \
  src/srkit/io/image_writer.cpp src/srkit/io/exif_orientation.cpp src/srkit/io/atomic_file.cpp \
  src/srkit/io/samples.cpp src/srkit/io/image_limits.cpp src/srkit/core/error.cpp
seeds
flags+=(-I/usr/include/nifti)
libs+=($(pkg-config --libs libzip) -lnifti2 -lznz -lz -lyaml-cpp)
build arrays src/srkit/io/numpy_file.cpp src/srkit/io/nifti_file.cpp src/srkit/io/atomic_file.cpp \
  src/srkit/io/image_limits.cpp src/srkit/core/error.cpp
array_seeds

# Seeds of the model readers: the fetched models' model.json and .param files, and the default
# model's model.json with a manifest of the target's 4 KiB shard, so that the weights are read.
model_seeds() {
  local dir=$out/model_files/seeds
  [ -d "$dir" ] && return
  mkdir -p "$dir"
  cp models/default/x2/model.json "$dir/default_x2.json"
  cp models/waifu2x-upconv7/x2/model.param "$dir/upconv7_x2.param"
  cp models/realesr-animevideov3/x4/model.param "$dir/animevideov3_x4.param"
  cp models/realcugan-conservative/x2/model.param "$dir/realcugan_x2.param"
  python3 - models/default/x2/model.json "$dir/default_x2_shard.json" <<'PY'
import json, sys
model = json.load(open(sys.argv[1]))
model["weightsManifest"] = [{"paths": ["w.bin"], "weights": [
    {"name": "F_0/kernel", "shape": [2, 2, 64, 2], "dtype": "float32"},
    {"name": "F_0/bias", "shape": [512], "dtype": "float32",
     "quantization": {"dtype": "uint16", "scale": 0.5, "min": -1}},
    {"name": "F_1/bias", "shape": [256], "dtype": "float32",
     "quantization": {"dtype": "uint8", "scale": 0.1, "min": 0}},
    {"name": "F_2/bias", "shape": [384], "dtype": "float32", "quantization": {"dtype": "float16"}}]}]
json.dump(model, open(sys.argv[2], "w"))
PY
}

build model_files src/srkit/io/tfjs_model.cpp src/srkit/io/ncnn_model.cpp \
  src/srkit/nn/ncnn_graph.cpp src/srkit/core/error.cpp
model_seeds

# Seeds of the settings readers: the repository's training configs and a calibration made here.
settings_seeds() {
  local dir=$out/settings_files/seeds
  [ -d "$dir" ] && return
  mkdir -p "$dir/photos"
  cp configs/compact_x4.yaml configs/magnet_depth.yaml "$dir/"
  cp data/samples/coffee.png "$dir/photos/"
  "$srkit" calibrate --model default --data "$dir/photos" --crop 96 --alpha 0.1 \
    -o "$dir/calibration.json" -q
  rm -r "$dir/photos"
}

build settings_files src/srkit/conformal/calibration_file.cpp src/srkit/conformal/calibration.cpp \
  src/srkit/conformal/confidence.cpp src/srkit/conformal/scores.cpp \
  src/srkit/conformal/fidelity.cpp src/srkit/ops/color.cpp src/srkit/ops/filters.cpp \
  src/srkit/ops/test_time_augmentation.cpp src/srkit/ops/geometry.cpp src/srkit/io/samples.cpp \
  src/srkit/io/atomic_file.cpp src/srkit/train/train_config.cpp src/srkit/train/yaml_config.cpp \
  src/srkit/train/losses.cpp src/srkit/ops/dct.cpp \
  src/srkit/core/config_section.cpp src/srkit/core/error.cpp
settings_seeds

# Seeds of the raster reader: small GeoTIFFs written by hand (baseline TIFF + GeoKeys: pixel
# scale, tie point, a projected EPSG code) in the layouts pansharpening takes, and the TIFFs of the
# image readers' seeds.
raster_seeds() {
  local dir=$out/rasters/seeds
  [ -d "$dir" ] && return
  mkdir -p "$dir"
  cp "$out"/image_readers/seeds/*.tif "$dir/"
  python3 - "$dir" <<'PY'
import struct, sys
out = sys.argv[1]

def geotiff(width, height, bands, bits, sample_format, pixels):
    entries = []  # (tag, type, count, value bytes)
    def tag(t, typ, values):
        fmt = {3: "H", 4: "I", 12: "d"}[typ]
        entries.append((t, typ, len(values), struct.pack("<%d%s" % (len(values), fmt), *values)))
    data_offset = 8
    ifd_offset = data_offset + len(pixels)
    tag(256, 4, [width]); tag(257, 4, [height])
    tag(258, 3, [bits] * bands); tag(259, 3, [1]); tag(262, 3, [1 if bands == 1 else 2])
    tag(273, 4, [data_offset]); tag(277, 3, [bands]); tag(278, 4, [height])
    tag(279, 4, [len(pixels)]); tag(284, 3, [1]); tag(339, 3, [sample_format] * bands)
    if bands > 3: tag(338, 3, [0] * (bands - 3))  # extra samples: unspecified
    tag(33550, 12, [30.0, 30.0, 0.0])                      # ModelPixelScale
    tag(33922, 12, [0, 0, 0, 500000.0, 4100000.0, 0])      # ModelTiepoint
    tag(34735, 3, [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32631])  # GeoKeys
    entries.sort()
    extra_offset = ifd_offset + 2 + 12 * len(entries) + 4
    ifd, extra = b"", b""
    for t, typ, count, value in entries:
        if len(value) <= 4:
            ifd += struct.pack("<HHI", t, typ, count) + value.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", t, typ, count, extra_offset + len(extra))
            extra += value
    return (b"II*\0" + struct.pack("<I", ifd_offset) + pixels + struct.pack("<H", len(entries))
            + ifd + b"\0\0\0\0" + extra)

open(f"{out}/ms_u16_4band.tif", "wb").write(
    geotiff(6, 5, 4, 16, 1, struct.pack("<120H", *[(i * 523) % 4096 for i in range(120)])))
open(f"{out}/pan_f32.tif", "wb").write(
    geotiff(12, 10, 1, 32, 3, struct.pack("<120f", *[i * 0.25 for i in range(120)])))
open(f"{out}/rgb_u8.tif", "wb").write(geotiff(4, 4, 3, 8, 1, bytes(range(48))))
PY
}

flags+=($(pkg-config --cflags gdal))
libs+=($(pkg-config --libs gdal))
build rasters src/srkit/io/raster_file.cpp src/srkit/io/atomic_file.cpp \
  src/srkit/io/image_limits.cpp src/srkit/core/error.cpp
raster_seeds

# srkit's model files: the reading code instrumented, the rest of the compute core linked from
# the Release build (the program's own definitions come first).
build model_archives src/srkit/models/model_file.cpp src/srkit/models/model_archive.cpp \
  src/srkit/io/numpy_file.cpp src/srkit/nn/network.cpp \
  src/srkit/nn/rdn.cpp src/srkit/nn/compact_cnn.cpp src/srkit/core/config_section.cpp \
  -L"$root/build" -lsrkit_core -Wl,-rpath,"$root/build"
# The seeds are written anew whenever the target is rebuilt (the format may have changed).
if [ ! -d "$out/model_archives/seeds" ] ||
   [ "$out/bin/model_archives" -nt "$out/model_archives/seeds" ]; then
  rm -rf "$out/model_archives/seeds"
  mkdir -p "$out/model_archives/seeds"
  SRKIT_FUZZ_WRITE_SEEDS="$out/model_archives/seeds" "$out/bin/model_archives"
fi

targets=(image_readers arrays model_files settings_files rasters model_archives)
failed=0
for target in "${targets[@]}"; do
  corpus=$out/$target/corpus
  crashes=$out/$target/crashes
  mkdir -p "$corpus" "$crashes"
  start=$(date +%s)
  set +e
  # One thread for LibTorch: libFuzzer measures one process.
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "$out/bin/$target" "$corpus" "$out/$target/seeds" -max_total_time=$(( seconds / ${#targets[@]} )) -max_len=$([ "$target" = model_files ] && echo 262144 || echo 65536) \
    -rss_limit_mb=4096 -timeout=30 -artifact_prefix="$crashes/" -print_final_stats=1 \
    > "$out/$target/log.txt" 2>&1
  status=$?
  set -e
  cpu=$(( $(date +%s) - start ))
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$target/log.txt" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$out/$target/log.txt" | tail -1 || true)
  found=$(ls "$crashes" | wc -l)
  echo "$target: ${cpu} s (one process), $runs runs, $cov, exit $status, $found inputs in $crashes"
  [ "$found" -eq 0 ] || { tail -40 "$out/$target/log.txt"; failed=1; }
done
exit $failed
