// Small line plots as PNG files (OpenCV drawing): enough for evaluation figures such as risk
// against alpha, without a plotting library.
//
//   srkit::LinePlot plot{"Risk vs alpha", "alpha", "mean worst error in mask"};
//   plot.series.push_back({"measured", alphas, risks});
//   srkit::save_line_plot("risk.png", plot);
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace srkit {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> low, high;  // optional band (e.g. a confidence interval), same length as x
  bool dashed = false;
  bool markers = true;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
  int width = 800, height = 560;
};

// Draws axes with ticks, every series in its own colour with a legend, and writes the PNG
// atomically. Non-finite points are skipped. Throws an output Error naming the file.
void save_line_plot(const std::filesystem::path& path, const LinePlot& plot);

}  // namespace srkit
