// The robustness rows of docs/multimodal.md: each multi-modal model on the held-out LR crops with
// its maps as srkit computes them (clean) and with one modality's map corrupted at test time:
// missing (left out of the fusion), noise (Gaussian, sigma 0.3, clamped to [0,1]; seed 7), shifted
// (rolled 8 output pixels down and right: 2 input pixels) or wrong (the map of the next crop in
// the list). PSNR-Y / SSIM-Y against the HR crops (BT.601, 4 px border), and each modality's mean
// weight on the clean maps. Built and run by bench/multimodal_study.sh:
//   robustness HR_DIR LR_DIR MODEL.srkit...   -> one JSON line per model and condition on stdout
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/core/runtime.h"
#include "srkit/engine/multimodal_upscale.h"
#include "srkit/io/image_io.h"
#include "srkit/metrics/metric.h"
#include "srkit/models/multimodal_model.h"
#include "srkit/models/registry.h"
#include "srkit/ops/modality_maps.h"

namespace fs = std::filesystem;
using namespace srkit;

namespace {

struct Crop {
  torch::Tensor lr, hr;
  std::map<std::string, torch::Tensor> maps;  // [C,H,W] as srkit computes them
};

torch::Tensor corrupted(const std::string& how, const torch::Tensor& map,
                        const torch::Tensor& other) {
  if (how == "noise") {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
    return (map + 0.3 * torch::randn(map.sizes(), generator)).clamp(0, 1);
  }
  if (how == "shifted") return torch::roll(map, {8, 8}, {1, 2});
  return other;  // wrong
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s HR_DIR LR_DIR MODEL.srkit...\n", argv[0]);
    return 2;
  }
  set_threads(0);
  std::vector<Crop> crops;
  for (const auto& lr_path : list_image_files(argv[2])) {
    Crop crop;
    crop.lr = read_image(lr_path).pixels.slice(0, 0, 3).contiguous();
    crop.hr = read_image(fs::path(argv[1]) / lr_path.filename()).pixels.slice(0, 0, 3);
    crops.push_back(crop);
  }
  const MetricOptions protocol{4, true};
  for (int m = 3; m < argc; ++m) {
    auto model = load_model({argv[m]});
    auto& multimodal = dynamic_cast<MultimodalModel&>(*model);
    const auto& config = multimodal.network().config();
    const int64_t s = config.scale;
    for (auto& crop : crops) {
      crop.maps["edges"] = edge_maps(crop.lr.unsqueeze(0), s)[0];
      crop.maps["segmentation"] =
          segmentation_maps(crop.lr.unsqueeze(0), s, multimodal.segmentation_region())[0];
    }
    std::vector<std::pair<std::string, std::string>> conditions{{"clean", ""}};
    for (const auto& name : config.modalities) {
      for (const char* how : {"missing", "noise", "shifted", "wrong"})
        conditions.push_back({how, name});
    }
    for (const auto& [how, name] : conditions) {
      double psnr_sum = 0, ssim_sum = 0;
      std::vector<double> weight_means(config.modalities.size(), 0.0);
      for (size_t i = 0; i < crops.size(); ++i) {
        const auto& crop = crops[i];
        ModalityInputs given;
        for (const auto& modality : config.modalities)
          given.maps[modality] = crop.maps.at(modality);
        if (how == "missing") {
          given.maps.erase(name);
          given.dropped.insert(name);
        } else if (!name.empty()) {
          const auto& other = crops[(i + 1) % crops.size()].maps.at(name);
          given.maps[name] = corrupted(how, crop.maps.at(name), other);
        }
        const auto result = multimodal_upscale(*model, crop.lr, given);
        psnr_sum += psnr(result.image, crop.hr, protocol);
        ssim_sum += ssim(result.image, crop.hr, protocol);
        if (result.weights.defined()) {
          for (size_t k = 0; k < weight_means.size(); ++k) {
            weight_means[k] += result.weights[k].mean().item<double>() / crops.size();
          }
        }
      }
      nlohmann::json line = {{"model", fs::path(argv[m]).stem().string()},
                             {"condition", how},
                             {"modality", name},
                             {"psnr_y", psnr_sum / crops.size()},
                             {"ssim_y", ssim_sum / crops.size()},
                             {"crops", crops.size()}};
      if (config.fusion == Fusion::kDynamic || config.fusion == Fusion::kStatic ||
          config.fusion == Fusion::kScalar) {
        for (size_t k = 0; k < weight_means.size(); ++k) {
          line["weights"][config.modalities[k]] = weight_means[k];
        }
      }
      std::printf("%s\n", line.dump().c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
