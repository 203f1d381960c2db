// The crop grid of docs/models.md: the same region of several images side by side, each under its
// label, so a reader can compare upscalers by eye. Images smaller than the largest by an integer
// factor (the low-resolution input) are enlarged with nearest neighbours to its size first.
//   crop_grid OUT.png X Y SIDE ZOOM LABEL=IMAGE...   (X, Y, SIDE in the largest image's pixels)
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s OUT.png X Y SIDE ZOOM LABEL=IMAGE...\n", argv[0]);
    return 2;
  }
  const int x = std::stoi(argv[2]), y = std::stoi(argv[3]), side = std::stoi(argv[4]),
            zoom = std::stoi(argv[5]);
  std::vector<std::string> labels;
  std::vector<cv::Mat> images;
  int width = 0;
  for (int i = 6; i < argc; ++i) {
    const std::string spec = argv[i];
    const auto eq = spec.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "%s: expected LABEL=IMAGE\n", spec.c_str());
      return 2;
    }
    cv::Mat image = cv::imread(spec.substr(eq + 1), cv::IMREAD_COLOR);
    if (image.empty()) {
      std::fprintf(stderr, "%s: cannot be read\n", spec.substr(eq + 1).c_str());
      return 1;
    }
    labels.push_back(spec.substr(0, eq));
    images.push_back(image);
    width = std::max(width, image.cols);
  }
  std::vector<cv::Mat> tiles;
  for (size_t i = 0; i < images.size(); ++i) {
    cv::Mat image = images[i];
    if (image.cols < width) {
      const int factor = width / image.cols;
      cv::resize(image, image, cv::Size(), factor, factor, cv::INTER_NEAREST);
    }
    if (x + side > image.cols || y + side > image.rows) {
      std::fprintf(stderr, "%s: the crop leaves the image\n", labels[i].c_str());
      return 1;
    }
    cv::Mat tile;
    cv::resize(image(cv::Rect(x, y, side, side)), tile, cv::Size(), zoom, zoom, cv::INTER_NEAREST);
    cv::Mat labelled(tile.rows + 28, tile.cols, CV_8UC3, cv::Scalar(255, 255, 255));
    tile.copyTo(labelled(cv::Rect(0, 28, tile.cols, tile.rows)));
    cv::putText(labelled, labels[i], cv::Point(4, 20), cv::FONT_HERSHEY_SIMPLEX, 0.55,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    tiles.push_back(labelled);
  }
  cv::Mat grid;
  cv::hconcat(tiles, grid);
  if (!cv::imwrite(argv[1], grid)) {
    std::fprintf(stderr, "%s: cannot be written\n", argv[1]);
    return 1;
  }
  return 0;
}
