// The input of bench/gigapixel.sh: a SIDE x SIDE photo mosaic (real image content, so that the PNG
// and TIFF encoders see what they see in use) from 512-pixel squares cut from the given photos,
// cycled and mirrored in turn.
//   mosaic OUT.png SIDE IMAGE...
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s OUT.png SIDE IMAGE...\n", argv[0]);
    return 2;
  }
  constexpr int kCell = 512;
  const int side = std::stoi(argv[2]);
  std::vector<cv::Mat> squares;
  for (int i = 3; i < argc; ++i) {
    cv::Mat image = cv::imread(argv[i], cv::IMREAD_COLOR);
    if (image.empty()) {
      std::fprintf(stderr, "%s: cannot be read\n", argv[i]);
      return 1;
    }
    const double zoom = static_cast<double>(kCell) / std::min(image.rows, image.cols);
    cv::resize(image, image, cv::Size(), zoom, zoom, cv::INTER_AREA);
    const int x = (image.cols - kCell) / 2, y = (image.rows - kCell) / 2;
    squares.push_back(image(cv::Rect(x, y, kCell, kCell)).clone());
  }
  cv::Mat mosaic(side, side, CV_8UC3);
  int n = 0;
  for (int y = 0; y < side; y += kCell) {
    for (int x = 0; x < side; x += kCell, ++n) {
      cv::Mat cell;
      cv::flip(squares[n % squares.size()], cell, (n / squares.size()) % 2 ? 1 : 0);
      const int w = std::min(kCell, side - x), h = std::min(kCell, side - y);
      cell(cv::Rect(0, 0, w, h)).copyTo(mosaic(cv::Rect(x, y, w, h)));
    }
  }
  return cv::imwrite(argv[1], mosaic) ? 0 : 1;
}
