// libFuzzer target for the readers that take image files from strangers: read_image (OpenCV's
// decoders, the JPEG checks, EXIF orientation, the tiled-TIFF fallback) and open_row_reader (PNG
// rows through libpng, TIFF strips through libtiff). Differential as well: when both read a file,
// the streamed rows must be read_image's samples bit for bit (what srkit upscale relies on), else
// the target aborts. Built and run by bench/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <torch/torch.h>

#include "scratch_file.h"
#include "srkit/core/error.h"
#include "srkit/io/image_io.h"
#include "srkit/io/row_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = scratch_file(data, size, ".img");

  torch::Tensor whole;
  try {
    whole = srkit::read_image(path, srkit::PixelStorage::kCompact).pixels;
  } catch (const srkit::Error&) {
  }
  torch::Tensor streamed;
  try {
    if (auto reader = srkit::open_row_reader(path)) {
      std::vector<torch::Tensor> bands;
      while (reader->next_row() < reader->shape().height) bands.push_back(reader->read(7));
      streamed = torch::cat(bands, 1);
    }
  } catch (const srkit::Error&) {
    streamed = torch::Tensor();
  }
  if (whole.defined() && streamed.defined() && !torch::equal(whole, streamed)) {
    std::fprintf(stderr, "streamed rows differ from read_image: %s vs %s\n",
                 c10::str(streamed.sizes()).c_str(), c10::str(whole.sizes()).c_str());
    std::abort();
  }
  return 0;
}
