// The spectral and spread figures of docs/generative.md (bench/flow_evaluate.sh builds and runs it).
//   spectra crops OUT_DIR SIDE IMAGE...          two SIDE x SIDE crops of each image (the centre and
//                                                the centre of its upper-left quarter), as PNG
//   spectra bands OUT.svg REF_DIR LABEL=DIR...   radially averaged log power spectra of BT.601 Y
//                                                (Hann window), per image of REF_DIR and the image of
//                                                the same name in DIR; prints JSON: each label's mean
//                                                curve and its mean absolute error against the
//                                                references' per frequency band; plots the curves
//   spectra spread OUT.png IMAGE...              per-pixel standard deviation of Y over the images
//                                                (samples of one input with different seeds); prints
//                                                its mean (0..255 units); writes it as a heat map
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;

namespace {

constexpr int kBins = 32;  // radial frequency 0 .. 0.5 cycles/pixel
const double kBandEdges[] = {0.0, 0.0625, 0.125, 0.25, 0.5};

cv::Mat luma(const std::string& path) {
  const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) {
    std::fprintf(stderr, "%s: cannot be read\n", path.c_str());
    std::exit(1);
  }
  cv::Mat f;
  bgr.convertTo(f, CV_64FC3, 1.0 / 255.0);
  std::vector<cv::Mat> c;
  cv::split(f, c);  // B, G, R
  return 16.0 + 65.481 * c[2] + 128.553 * c[1] + 24.966 * c[0];
}

// log10 of the mean power in each radial bin (bins with no frequency: NaN).
std::vector<double> radial_log_power(const cv::Mat& y) {
  cv::Mat window;
  cv::createHanningWindow(window, y.size(), CV_64F);
  cv::Mat centred = y - cv::mean(y)[0];
  cv::Mat windowed = centred.mul(window);
  cv::Mat spectrum;
  cv::dft(windowed, spectrum, cv::DFT_COMPLEX_OUTPUT);
  std::vector<double> sum(kBins, 0.0);
  std::vector<int64_t> count(kBins, 0);
  for (int v = 0; v < y.rows; ++v) {
    const double fy = (v <= y.rows / 2 ? v : v - y.rows) / static_cast<double>(y.rows);
    for (int u = 0; u < y.cols; ++u) {
      const double fx = (u <= y.cols / 2 ? u : u - y.cols) / static_cast<double>(y.cols);
      const double r = std::sqrt(fx * fx + fy * fy);
      if (r == 0 || r >= 0.5) continue;
      const auto z = spectrum.at<cv::Vec2d>(v, u);
      const int bin = static_cast<int>(r / 0.5 * kBins);
      sum[bin] += z[0] * z[0] + z[1] * z[1];
      ++count[bin];
    }
  }
  std::vector<double> out(kBins);
  for (int b = 0; b < kBins; ++b) {
    out[b] = count[b] ? std::log10(sum[b] / count[b] + 1e-12) : std::nan("");
  }
  return out;
}

double bin_centre(int b) { return (b + 0.5) * 0.5 / kBins; }

int crops(int argc, char** argv) {
  const fs::path out = argv[2];
  const int side = std::stoi(argv[3]);
  fs::create_directories(out);
  for (int i = 4; i < argc; ++i) {
    const cv::Mat image = cv::imread(argv[i], cv::IMREAD_UNCHANGED);
    if (image.empty() || image.cols < side || image.rows < side) {
      std::fprintf(stderr, "%s: unreadable or smaller than %d px\n", argv[i], side);
      return 1;
    }
    const cv::Point centres[] = {{image.cols / 2, image.rows / 2},
                                 {image.cols / 4, image.rows / 4}};
    for (int k = 0; k < 2; ++k) {
      const int x = std::clamp(centres[k].x - side / 2, 0, image.cols - side);
      const int y = std::clamp(centres[k].y - side / 2, 0, image.rows - side);
      const auto name = fs::path(argv[i]).stem().string() + "_" + std::to_string(k) + ".png";
      cv::imwrite((out / name).string(), image(cv::Rect(x, y, side, side)));
    }
  }
  return 0;
}

void write_plot(const std::string& path, const std::vector<std::string>& labels,
                const std::vector<std::vector<double>>& curves) {
  const double w = 640, h = 400, left = 60, right = 170, top = 20, bottom = 50;
  double lo = 1e9, hi = -1e9;
  for (const auto& c : curves) {
    for (double v : c) {
      if (std::isfinite(v)) lo = std::min(lo, 10 * v), hi = std::max(hi, 10 * v);
    }
  }
  lo = std::floor(lo / 10) * 10;
  hi = std::ceil(hi / 10) * 10;
  const auto px = [&](double f) { return left + f / 0.5 * (w - left - right); };
  const auto py = [&](double db) { return top + (hi - db) / (hi - lo) * (h - top - bottom); };
  const char* colours[] = {"#000000", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "%s: cannot be written\n", path.c_str());
    std::exit(1);
  }
  std::fprintf(f,
               "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
               "font-family='sans-serif' font-size='11'>\n<rect width='100%%' height='100%%' "
               "fill='white'/>\n",
               w, h);
  for (double db = lo; db <= hi + 1e-9; db += 10) {
    std::fprintf(f,
                 "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#ddd'/><text x='%.1f' "
                 "y='%.1f' text-anchor='end'>%.0f</text>\n",
                 left, w - right, py(db), py(db), left - 4, py(db) + 4, db);
  }
  for (double fr = 0; fr <= 0.5 + 1e-9; fr += 0.125) {
    std::fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle'>%.3g</text>\n", px(fr),
                 h - bottom + 16, fr);
  }
  std::fprintf(f,
               "<text x='%.1f' y='%.1f' text-anchor='middle'>radial frequency, cycles/pixel "
               "(HR grid)</text>\n<text x='14' y='%.1f' transform='rotate(-90 14 %.1f)' "
               "text-anchor='middle'>log power of Y, dB</text>\n",
               (left + w - right) / 2, h - 12, (top + h - bottom) / 2, (top + h - bottom) / 2);
  for (size_t i = 0; i < curves.size(); ++i) {
    std::string points;
    for (int b = 0; b < kBins; ++b) {
      if (!std::isfinite(curves[i][b])) continue;
      points += std::to_string(px(bin_centre(b))) + "," + std::to_string(py(10 * curves[i][b])) +
                " ";
    }
    const char* colour = colours[i % 11];
    std::fprintf(f,
                 "<polyline fill='none' stroke='%s' stroke-width='%s' points='%s'/>\n<line "
                 "x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s' stroke-width='2'/><text "
                 "x='%.1f' y='%.1f'>%s</text>\n",
                 colour, i == 0 ? "2.5" : "1.2", points.c_str(), w - right + 8, w - right + 24,
                 top + 14.0 * i + 10, top + 14.0 * i + 10, colour, w - right + 28,
                 top + 14.0 * i + 14, labels[i].c_str());
  }
  std::fprintf(f, "</svg>\n");
  std::fclose(f);
}

int bands(int argc, char** argv) {
  const fs::path reference = argv[3];
  std::vector<fs::path> refs;
  for (const auto& entry : fs::directory_iterator(reference)) refs.push_back(entry.path());
  std::sort(refs.begin(), refs.end());
  std::map<std::string, std::vector<double>> cache;
  const auto spectrum_of = [&](const std::string& path) {
    auto it = cache.find(path);
    if (it == cache.end()) it = cache.emplace(path, radial_log_power(luma(path))).first;
    return it->second;
  };
  std::vector<std::string> labels = {"ground truth"};
  std::vector<std::vector<double>> curves(1, std::vector<double>(kBins, 0.0));
  for (const auto& r : refs) {
    const auto s = spectrum_of(r.string());
    for (int b = 0; b < kBins; ++b) curves[0][b] += s[b] / static_cast<double>(refs.size());
  }
  std::printf("{\"bins\": %d, \"band_edges\": [0, 0.0625, 0.125, 0.25, 0.5], \"methods\": {\n",
              kBins);
  for (int i = 4; i < argc; ++i) {
    const std::string spec = argv[i];
    const auto eq = spec.find('=');
    const std::string label = spec.substr(0, eq);
    const fs::path dir = spec.substr(eq + 1);
    std::vector<double> curve(kBins, 0.0);
    double band_error[4] = {0, 0, 0, 0};
    int band_count[4] = {0, 0, 0, 0};
    for (const auto& r : refs) {
      const auto ref = spectrum_of(r.string());
      const auto test = spectrum_of((dir / r.filename()).string());
      for (int b = 0; b < kBins; ++b) {
        curve[b] += test[b] / static_cast<double>(refs.size());
        if (!std::isfinite(ref[b]) || !std::isfinite(test[b])) continue;
        for (int k = 0; k < 4; ++k) {
          if (bin_centre(b) >= kBandEdges[k] && bin_centre(b) < kBandEdges[k + 1]) {
            band_error[k] += 10 * std::abs(test[b] - ref[b]);
            ++band_count[k];
          }
        }
      }
    }
    labels.push_back(label);
    curves.push_back(curve);
    std::printf("  \"%s\": {\"band_error_db\": [", label.c_str());
    for (int k = 0; k < 4; ++k) {
      std::printf("%s%.3f", k ? ", " : "", band_error[k] / std::max(band_count[k], 1));
    }
    std::printf("], \"curve_db\": [");
    for (int b = 0; b < kBins; ++b) std::printf("%s%.3f", b ? ", " : "", 10 * curve[b]);
    std::printf("]}%s\n", i + 1 < argc ? "," : "");
  }
  std::printf("}, \"ground_truth_db\": [");
  for (int b = 0; b < kBins; ++b) std::printf("%s%.3f", b ? ", " : "", 10 * curves[0][b]);
  std::printf("]}\n");
  write_plot(argv[2], labels, curves);
  return 0;
}

int spread(int argc, char** argv) {
  cv::Mat sum, squares;
  const int n = argc - 3;
  for (int i = 3; i < argc; ++i) {
    const cv::Mat y = luma(argv[i]);
    if (sum.empty()) {
      sum = cv::Mat::zeros(y.size(), CV_64F);
      squares = cv::Mat::zeros(y.size(), CV_64F);
    } else if (y.size() != sum.size()) {
      std::fprintf(stderr, "%s: not the size of the first image\n", argv[i]);
      return 1;
    }
    sum += y;
    squares += y.mul(y);
  }
  cv::Mat mean = sum / n;
  cv::Mat variance = squares / n - mean.mul(mean);
  cv::Mat deviation;
  cv::sqrt(cv::max(variance, 0.0), deviation);
  std::printf("%.4f\n", cv::mean(deviation)[0]);
  cv::Mat scaled, heat;
  deviation.convertTo(scaled, CV_8U, 255.0 / 32.0);  // 32 Y levels of spread = full scale
  cv::applyColorMap(scaled, heat, cv::COLORMAP_INFERNO);
  return cv::imwrite(argv[2], heat) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "crops" && argc >= 5) return crops(argc, argv);
  if (mode == "bands" && argc >= 5) return bands(argc, argv);
  if (mode == "spread" && argc >= 5) return spread(argc, argv);
  std::fprintf(stderr,
               "usage: %s crops OUT_DIR SIDE IMAGE... | bands OUT.svg REF_DIR LABEL=DIR... | "
               "spread OUT.png IMAGE...\n",
               argv[0]);
  return 2;
}
