#!/usr/bin/env bash
# Fuzzing the readers that take files from strangers (issue 20): libFuzzer targets built with
# clang and AddressSanitizer + UndefinedBehaviorSanitizer from the reader sources themselves (not
# the Release build), run from seed corpora of real files for SECONDS each. A crash, an uncaught
# exception or a differential mismatch stops a target and leaves its input in
# $OUT/<target>/crashes; commit it as a regression test. Leaks are not checked (LibTorch keeps
# its allocations). Reports the seconds (one core), runs and coverage.
#   bash bench/fuzz.sh [SECONDS]   (default 300 per target; needs clang and libclang-rt-14-dev)
# Targets:
#   image_readers  read_image (OpenCV, JPEG checks, EXIF) and open_row_reader (libpng, libtiff),
#                  differential: streamed rows == read_image's samples whenever both read a file
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${1:-300}
out=${OUT:-/tmp/srkit-fuzz}
mkdir -p "$out"
srkit=${SRKIT:-build/srkit}

flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -Wno-deprecated-declarations
       -fno-sanitize=vptr -Isrc -I/usr/include/torch/csrc/api/include
       $(pkg-config --cflags opencv4 libexif))
libs=(-ltorch -ltorch_cpu -lc10 $(pkg-config --libs opencv4 libexif) -lpng -ltiff)

build() {  # target, then the srkit sources it reads
  local target=$1
  shift
  local binary=$out/bin/$target
  mkdir -p "$out/bin"
  if [ ! -x "$binary" ] || [ -n "$(find "bench/fuzz/$target.cpp" "$@" -newer "$binary")" ]; then
    echo "building $target (clang, ASan + UBSan) ..." >&2
    clang++ "${flags[@]}" "bench/fuzz/$target.cpp" "$@" "${libs[@]}" -o "$binary"
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

build image_readers src/srkit/io/image_io.cpp src/srkit/io/row_reader.cpp \
  src/srkit/io/image_writer.cpp src/srkit/io/exif_orientation.cpp src/srkit/io/atomic_file.cpp \
  src/srkit/io/samples.cpp src/srkit/core/error.cpp
seeds

for target in image_readers; do
  corpus=$out/$target/corpus
  crashes=$out/$target/crashes
  mkdir -p "$corpus" "$crashes"
  start=$(date +%s)
  set +e
  # One thread for LibTorch: libFuzzer measures one process.
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "$out/bin/$target" "$corpus" "$out/$target/seeds" -max_total_time="$seconds" -max_len=65536 \
    -rss_limit_mb=4096 -timeout=30 -artifact_prefix="$crashes/" -print_final_stats=1 \
    > "$out/$target/log.txt" 2>&1
  status=$?
  set -e
  cpu=$(( $(date +%s) - start ))
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$target/log.txt" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$out/$target/log.txt" | tail -1 || true)
  found=$(ls "$crashes" | wc -l)
  echo "$target: ${cpu} s (one process), $runs runs, $cov, exit $status, $found inputs in $crashes"
  [ "$found" -eq 0 ] || tail -40 "$out/$target/log.txt"
done
