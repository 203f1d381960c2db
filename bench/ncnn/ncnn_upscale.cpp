// The reference: runs an ncnn model on an image with ncnn itself (fp32 storage and arithmetic),
// with the conventions of the model's program, and writes a 16-bit PNG. Built by build_ncnn.sh;
// used for the parity goldens (make_goldens.sh) and as the speed peer (bench/ncnn_speed.sh).
//
//   ncnn_upscale MODEL.param IN.png OUT.png --border B --align A --scale S [--add-nearest]
//                [--threads T] [--repeat R]
// The border and alignment are what `srkit models --json` reports for the model (the input is
// edge-replicated by B on each side and its sides rounded up to a multiple of A); --add-nearest
// adds the nearest-upscaled input (Real-CUGAN x4). --repeat times R runs and prints the median.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "net.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: ncnn_upscale MODEL.param IN.png OUT.png --border B --align A "
                 "--scale S [--add-nearest] [--threads T] [--repeat R]\n");
    return 2;
  }
  const std::string param = argv[1], input = argv[2], output = argv[3];
  int border = 0, align = 1, scale = 0, threads = 1, repeat = 1;
  bool add_nearest = false;
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--border")
      border = next();
    else if (a == "--align")
      align = next();
    else if (a == "--scale")
      scale = next();
    else if (a == "--threads")
      threads = next();
    else if (a == "--repeat")
      repeat = std::max(1, next());
    else if (a == "--add-nearest")
      add_nearest = true;
    else {
      std::fprintf(stderr, "ncnn_upscale: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (scale <= 0 || align <= 0) {
    std::fprintf(stderr, "ncnn_upscale: give --scale\n");
    return 2;
  }
  cv::Mat bgr = cv::imread(input, cv::IMREAD_COLOR);
  if (bgr.empty()) {
    std::fprintf(stderr, "ncnn_upscale: cannot read %s\n", input.c_str());
    return 2;
  }
  const int h = bgr.rows, w = bgr.cols;
  const int eh = (h + align - 1) / align * align - h, ew = (w + align - 1) / align * align - w;
  cv::Mat rgb, padded;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1.0 / 255.0);
  cv::copyMakeBorder(rgb, padded, border, border + eh, border, border + ew, cv::BORDER_REPLICATE);
  ncnn::Mat in(padded.cols, padded.rows, 3);
  for (int c = 0; c < 3; ++c) {
    float* plane = in.channel(c);
    for (int y = 0; y < padded.rows; ++y) {
      const auto* row = padded.ptr<cv::Vec3f>(y);
      for (int x = 0; x < padded.cols; ++x) plane[y * padded.cols + x] = row[x][c];
    }
  }
  std::string bin = param.substr(0, param.size() - 6) + ".bin";
  ncnn::Net net;
  net.opt.use_vulkan_compute = false;
  net.opt.use_fp16_packed = false;
  net.opt.use_fp16_storage = false;
  net.opt.use_fp16_arithmetic = false;
  net.opt.use_bf16_storage = false;
  net.opt.num_threads = threads;
  if (net.load_param(param.c_str()) != 0 || net.load_model(bin.c_str()) != 0) {
    std::fprintf(stderr, "ncnn_upscale: cannot load %s\n", param.c_str());
    return 2;
  }
  ncnn::Mat out;
  std::vector<double> times;
  for (int r = 0; r < repeat; ++r) {
    const auto start = std::chrono::steady_clock::now();
    ncnn::Extractor ex = net.create_extractor();
    ex.input(net.input_names()[0], in);
    ex.extract(net.output_names()[0], out);
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  if (repeat > 1) std::printf("%.6f\n", times[times.size() / 2]);
  if (out.w < w * scale || out.h < h * scale || out.c != 3) {
    std::fprintf(stderr, "ncnn_upscale: output %dx%dx%d is smaller than expected\n", out.c, out.h,
                 out.w);
    return 2;
  }
  cv::Mat result(h * scale, w * scale, CV_16UC3);
  for (int y = 0; y < h * scale; ++y) {
    auto* row = result.ptr<cv::Vec3w>(y);
    for (int x = 0; x < w * scale; ++x) {
      for (int c = 0; c < 3; ++c) {
        float v = out.channel(c).row(y)[x];
        if (add_nearest) v += rgb.at<cv::Vec3f>(y / scale, x / scale)[c];
        v = std::min(1.f, std::max(0.f, v));
        row[x][2 - c] = static_cast<unsigned short>(v * 65535.f + 0.5f);
      }
    }
  }
  if (!cv::imwrite(output, result)) {
    std::fprintf(stderr, "ncnn_upscale: cannot write %s\n", output.c_str());
    return 2;
  }
  return 0;
}
