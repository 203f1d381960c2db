// Upscales one image file through the srkit library, as a program of your own would:
//
//   upscale_image photo.png photo_x2.png [MODEL [SCALE]]     (default: the "default" model, x2)
//
// Built against an installed srkit with find_package(srkit) (CMakeLists.txt beside this file).
#include <cstdio>
#include <exception>
#include <string>

#include <torch/torch.h>

#include <srkit/core/error.h>
#include <srkit/core/runtime.h>
#include <srkit/engine/upscale.h>
#include <srkit/io/image_io.h>
#include <srkit/models/registry.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s INPUT OUTPUT [MODEL [SCALE]]\n", argv[0]);
    return 2;
  }
  try {
    srkit::set_threads(0);  // every core
    const std::string name = argc > 3 ? argv[3] : "default";
    const int64_t scale = argc > 4 ? std::stoll(argv[4]) : 0;  // 0: the model's only scale

    auto model = srkit::load_model({name, scale});  // checksums verified
    model->prepare(torch::kCPU, /*channels_last=*/true);
    const auto image = srkit::read_image(argv[1]);  // [C,H,W] in [0,1], bit depth remembered

    torch::InferenceMode inference;
    const auto upscaled = srkit::upscale(*model, image.pixels, srkit::UpscaleOptions{});
    srkit::write_image(argv[2], upscaled, image.bit_depth);  // atomic; refuses to overwrite
    std::printf("%s: %lldx%lld -> %lldx%lld with %s\n", argv[2],
                static_cast<long long>(image.pixels.size(2)),
                static_cast<long long>(image.pixels.size(1)),
                static_cast<long long>(upscaled.size(2)), static_cast<long long>(upscaled.size(1)),
                model->card().name.c_str());
    return 0;
  } catch (const srkit::Error& e) {
    std::fprintf(stderr, "upscale_image: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "upscale_image: %s\n", e.what());
    return 1;
  }
}
