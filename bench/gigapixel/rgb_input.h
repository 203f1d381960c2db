// The input of the codec settings tools (png_settings.cpp, tiff_settings.cpp): IMAGE as 8-bit RGB
// and a scratch path, from `tool IMAGE [SCRATCH]`; exits with a usage or read error.
#pragma once

#include <cstdio>
#include <cstdlib>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

struct RgbInput {
  cv::Mat image;        // RGB, 8-bit
  const char* scratch;  // where each setting writes its file
};

inline RgbInput read_rgb_input(int argc, char** argv, const char* default_scratch) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s IMAGE.png [SCRATCH]\n", argv[0]);
    std::exit(2);
  }
  RgbInput input{cv::imread(argv[1], cv::IMREAD_COLOR), argc > 2 ? argv[2] : default_scratch};
  if (input.image.empty()) {
    std::fprintf(stderr, "%s: cannot be read\n", argv[1]);
    std::exit(1);
  }
  cv::cvtColor(input.image, input.image, cv::COLOR_BGR2RGB);
  return input;
}
