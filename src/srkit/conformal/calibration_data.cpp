#include "srkit/conformal/calibration_data.h"

#include <cmath>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/image_io.h"
#include "srkit/ops/color.h"
#include "srkit/ops/resize.h"

namespace srkit::conformal {
namespace {

std::filesystem::path lr_file_for(const std::filesystem::path& hr_file,
                                  const std::filesystem::path& lr_folder) {
  for (const auto& candidate : list_image_files(lr_folder)) {
    if (candidate.stem() == hr_file.stem()) return candidate;
  }
  throw input_error(hr_file.string(), "has no LR file with the same name in " + lr_folder.string(),
                    "name the LR file " + hr_file.stem().string() + ".png (any image extension)");
}

}  // namespace

std::vector<ImageUnit> image_units(const std::filesystem::path& hr_file,
                                   const UnitOptions& options) {
  const int64_t s = options.scale;
  const auto image = read_image(hr_file);
  auto hr = image.pixels;
  torch::Tensor lr;
  if (!options.lr_folder.empty()) {
    const auto lr_file = lr_file_for(hr_file, options.lr_folder);
    lr = read_image(lr_file).pixels;
    // Degradations give colour LR for gray and RGBA photos: the upscale is judged on colour.
    if (lr.size(0) == 3 && (hr.size(0) == 1 || hr.size(0) == 4)) hr = as_rgb(hr);
    if (lr.size(0) != hr.size(0)) {
      throw input_error(lr_file.string(),
                        "has " + std::to_string(lr.size(0)) + " channels but " + hr_file.string() +
                            " has " + std::to_string(hr.size(0)),
                        "give LR and HR files of the same kind of image");
    }
    const int64_t h = lr.size(1) * s, w = lr.size(2) * s;
    if (hr.size(1) < h || hr.size(1) >= h + s || hr.size(2) < w || hr.size(2) >= w + s) {
      throw input_error(lr_file.string(),
                        "does not match " + hr_file.string() + " at x" + std::to_string(s),
                        "the HR image must be the LR size times the scale");
    }
    hr = hr.slice(1, 0, h).slice(2, 0, w);
  } else {
    hr = hr.slice(1, 0, hr.size(1) / s * s).slice(2, 0, hr.size(2) / s * s);
  }
  const int64_t side = options.crop;
  if (hr.size(1) < std::max(side, s) || hr.size(2) < std::max(side, s)) {
    throw input_error(hr_file.string(), "is smaller than one calibration unit",
                      "remove it from the folder or use a smaller {{crop}}");
  }
  const auto make_lr = [&](const torch::Tensor& hr_unit) {
    return stored_values(resize_bicubic(hr_unit, 1.0 / static_cast<double>(s)), image.bit_depth);
  };
  std::vector<ImageUnit> units;
  const auto stem = hr_file.stem().string();
  if (side == 0) {
    units.push_back({stem, lr.defined() ? lr : make_lr(hr), hr});
    return units;
  }
  for (int64_t y = 0; y + side <= hr.size(1); y += side) {
    for (int64_t x = 0; x + side <= hr.size(2); x += side) {
      const auto hr_unit = hr.slice(1, y, y + side).slice(2, x, x + side).contiguous();
      const auto lr_unit =
          lr.defined()
              ? lr.slice(1, y / s, (y + side) / s).slice(2, x / s, (x + side) / s).contiguous()
              : make_lr(hr_unit);
      units.push_back({stem + "@" + std::to_string(y) + "," + std::to_string(x), lr_unit, hr_unit});
    }
  }
  return units;
}

nlohmann::json describe_units(const std::filesystem::path& folder, const UnitOptions& options,
                              int64_t files, int64_t units) {
  return {{"folder", folder.string()},
          {"files", files},
          {"units", units},
          {"unit", options.crop > 0 ? "HR crops of " + std::to_string(options.crop) + "x" +
                                          std::to_string(options.crop)
                                    : std::string("whole images")},
          {"crop", options.crop},
          {"lr", options.lr_folder.empty()
                     ? "MATLAB-compatible bicubic (antialiased) of the HR image, rounded to its "
                       "bit depth"
                     : "files in " + options.lr_folder.string()}};
}

}  // namespace srkit::conformal
