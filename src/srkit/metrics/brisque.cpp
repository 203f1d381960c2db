#include "srkit/metrics/brisque.h"

#include <torch/torch.h>
#include <opencv2/quality.hpp>

#include "srkit/core/error.h"
#include "srkit/core/resource_paths.h"
#include "srkit/io/image_io.h"
#include "srkit/ops/color.h"

namespace srkit {

struct Brisque::Impl {
  cv::Ptr<cv::quality::QualityBRISQUE> model;
};

Brisque::Brisque(const std::filesystem::path& model_file, const std::filesystem::path& range_file)
    : impl_(std::make_unique<Impl>()) {
  for (const auto& file : {model_file, range_file}) {
    if (!std::filesystem::is_regular_file(file)) {
      throw setup_error(file.string() +
                        ": the BRISQUE model file is missing (run scripts/setup.sh, which takes it "
                        "from Debian's opencv-doc)");
    }
  }
  try {
    impl_->model = cv::quality::QualityBRISQUE::create(model_file.string(), range_file.string());
  } catch (const cv::Exception& e) {
    throw setup_error(model_file.string() + ": not a BRISQUE model (" + e.err + ")");
  }
}

Brisque::~Brisque() = default;

double Brisque::score(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3 && image.size(0) >= 1, "brisque: expected a [C,H,W] image");
  auto rgb = stored_values(image.to(torch::kFloat32), 8);
  const auto gray = rgb_to_gray(rgb);
  const auto bytes = (gray * 255.0).round().clamp(0, 255).to(torch::kUInt8).contiguous();
  const cv::Mat mat(static_cast<int>(bytes.size(0)), static_cast<int>(bytes.size(1)), CV_8UC1,
                    bytes.data_ptr<uint8_t>());
  return impl_->model->compute(mat)[0];
}

std::filesystem::path Brisque::default_model_file() {
  return data_root() / "quality" / "brisque_model_live.yml";
}

std::filesystem::path Brisque::default_range_file() {
  return data_root() / "quality" / "brisque_range_live.yml";
}

}  // namespace srkit
