// Images held in memory rather than in files: `srkit serve` decodes an upload and encodes its
// results without either ever touching the disk.
//
//   auto image = srkit::decode_image(upload_bytes, "photo.jpg");  // as read_image reads a file
//   std::vector<unsigned char> png = srkit::encode_png(image.pixels, image.bit_depth);
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "srkit/io/image_io.h"

namespace srkit {

// Decodes an image file's bytes exactly as read_image decodes the file (the same formats, EXIF
// orientation, pixel limit and checks). `name` is what errors call it (an upload's name); it is
// never opened. Throws an input Error naming it.
Image decode_image(std::vector<unsigned char> bytes, const std::string& name);

// A PNG of [C,H,W] values in [0,1] (C = 1, 3 or 4) at 8 or 16 bits, rounded as write_image rounds.
std::vector<unsigned char> encode_png(const torch::Tensor& pixels, int bit_depth);

}  // namespace srkit
