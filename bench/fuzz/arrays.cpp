// libFuzzer target for the array readers of guided SR, which take files from strangers: NumPy
// .npy (parse_npy), .npz archives (libzip: npz_keys, read_npz of every key) and NIfTI volumes
// (nifticlib: read_nifti, a slice of each axis). Every input is tried as each of them. A reader
// may refuse an input only with srkit's own Error: anything else (a crash, a sanitizer report, a
// std::exception escaping) stops the target. Built and run by bench/fuzz.sh.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "scratch_file.h"
#include "srkit/core/error.h"
#include "srkit/io/nifti_file.h"
#include "srkit/io/numpy_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    srkit::parse_npy(std::vector<char>(data, data + size), "input.npy");
  } catch (const srkit::Error&) {
  }
  try {
    const auto path = scratch_file(data, size, ".npz");
    for (const auto& key : srkit::npz_keys(path)) srkit::read_npz(path, key);
  } catch (const srkit::Error&) {
  }
  for (const char* extension : {".nii", ".nii.gz"}) {
    try {
      const auto volume = srkit::read_nifti(scratch_file(data, size, extension));
      for (int axis = 0; axis < 3; ++axis) {
        srkit::nifti_slice(volume, axis, volume.voxels.size(2 - axis) / 2);
      }
    } catch (const srkit::Error&) {
    }
  }
  return 0;
}
