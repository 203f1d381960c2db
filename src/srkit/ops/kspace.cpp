#include "srkit/ops/kspace.h"

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {

torch::Tensor kspace_downsample(const torch::Tensor& image, int64_t factor) {
  const int64_t h = image.size(-2), w = image.size(-1);
  if (factor < 1 || h % factor != 0 || w % factor != 0) {
    throw usage_error("k-space downsampling by " + std::to_string(factor) +
                      " needs sides that are "
                      "multiples of it, got " +
                      std::to_string(h) + "x" + std::to_string(w));
  }
  const int64_t sh = h / factor, sw = w / factor;
  const auto spectrum = torch::fft::fftshift(torch::fft::fft2(image.to(torch::kDouble)), {-2, -1});
  // The centre block (zero frequency at index size/2 after the shift, for even and odd sizes).
  const int64_t top = h / 2 - sh / 2, left = w / 2 - sw / 2;
  const auto centre = spectrum.slice(-2, top, top + sh).slice(-1, left, left + sw);
  const auto small = torch::fft::ifft2(torch::fft::ifftshift(centre, {-2, -1}));
  return (torch::real(small) / static_cast<double>(factor * factor)).to(image.scalar_type());
}

}  // namespace srkit
