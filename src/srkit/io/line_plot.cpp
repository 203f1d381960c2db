#include "srkit/io/line_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "srkit/core/error.h"
#include "srkit/io/atomic_file.h"

namespace srkit {
namespace {

const cv::Scalar kColours[] = {{180, 119, 31}, {14, 127, 255},  {44, 160, 44},
                               {40, 39, 214},  {189, 103, 148}, {75, 86, 140}};
constexpr int kLeft = 90, kRight = 30, kTop = 62, kBottom = 70;

struct Range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (std::isfinite(v)) low = std::min(low, v), high = std::max(high, v);
  }
};

// A "nice" step (1, 2 or 5 times a power of ten) giving about `count` ticks over the range.
double tick_step(double span, int count) {
  const double raw = span / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

void put_text(cv::Mat& image, const std::string& text, cv::Point at, double size = 0.5) {
  cv::putText(image, text, at, cv::FONT_HERSHEY_SIMPLEX, size, {40, 40, 40}, 1, cv::LINE_AA);
}

void dashed_line(cv::Mat& image, cv::Point2d a, cv::Point2d b, const cv::Scalar& colour) {
  const double length = std::hypot(b.x - a.x, b.y - a.y);
  const int pieces = std::max(1, static_cast<int>(length / 8));
  for (int i = 0; i < pieces; i += 2) {
    const double t0 = static_cast<double>(i) / pieces, t1 = static_cast<double>(i + 1) / pieces;
    cv::line(image, a + (b - a) * t0, a + (b - a) * t1, colour, 2, cv::LINE_AA);
  }
}

}  // namespace

void save_line_plot(const std::filesystem::path& path, const LinePlot& plot) {
  Range xr, yr;
  for (const auto& s : plot.series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      xr.add(s.x[i]);
      yr.add(s.y[i]);
      if (!s.low.empty()) yr.add(s.low[i]), yr.add(s.high[i]);
    }
  }
  if (!(xr.high > xr.low)) xr = {xr.low - 1, xr.high + 1};
  if (!(yr.high > yr.low)) yr = {yr.low - 1, yr.high + 1};
  if (!std::isfinite(xr.low)) xr = {0, 1};
  if (!std::isfinite(yr.low)) yr = {0, 1};
  const double margin = 0.05 * (yr.high - yr.low);
  yr = {yr.low - margin, yr.high + margin};

  cv::Mat image(plot.height, plot.width, CV_8UC3, cv::Scalar(255, 255, 255));
  const int w = plot.width - kLeft - kRight, h = plot.height - kTop - kBottom;
  const auto to_pixel = [&](double x, double y) {
    return cv::Point2d(kLeft + (x - xr.low) / (xr.high - xr.low) * w,
                       kTop + (yr.high - y) / (yr.high - yr.low) * h);
  };
  // Grid and ticks.
  for (int axis = 0; axis < 2; ++axis) {
    const Range& r = axis == 0 ? xr : yr;
    const double step = tick_step(r.high - r.low, 6);
    for (double v = std::ceil(r.low / step) * step; v <= r.high + 1e-12; v += step) {
      char label[32];
      std::snprintf(label, sizeof label, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
      if (axis == 0) {
        const auto p = to_pixel(v, yr.low);
        cv::line(image, {int(p.x), kTop}, {int(p.x), kTop + h}, {225, 225, 225}, 1);
        put_text(image, label, {int(p.x) - 14, kTop + h + 20});
      } else {
        const auto p = to_pixel(xr.low, v);
        cv::line(image, {kLeft, int(p.y)}, {kLeft + w, int(p.y)}, {225, 225, 225}, 1);
        put_text(image, label, {8, int(p.y) + 5});
      }
    }
  }
  cv::rectangle(image, {kLeft, kTop}, {kLeft + w, kTop + h}, {60, 60, 60}, 1);
  put_text(image, plot.title, {kLeft, 26}, 0.65);
  put_text(image, plot.x_label, {kLeft + w / 2 - 40, plot.height - 20});
  put_text(image, plot.y_label, {kLeft, kTop - 8}, 0.45);

  int legend_width = 0;
  for (const auto& s : plot.series) {
    int baseline = 0;
    legend_width =
        std::max(legend_width,
                 cv::getTextSize(s.label, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &baseline).width + 48);
  }
  const int legend_x = kLeft + w - legend_width;
  for (size_t k = 0; k < plot.series.size(); ++k) {
    const auto& s = plot.series[k];
    const auto colour = kColours[k % std::size(kColours)];
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!s.low.empty() && std::isfinite(s.low[i]) && std::isfinite(s.high[i])) {
        cv::line(image, to_pixel(s.x[i], s.low[i]), to_pixel(s.x[i], s.high[i]), colour, 1,
                 cv::LINE_AA);
      }
      if (!std::isfinite(s.y[i])) continue;
      const auto p = to_pixel(s.x[i], s.y[i]);
      if (s.markers) cv::circle(image, p, 3, colour, cv::FILLED, cv::LINE_AA);
      if (i + 1 < s.x.size() && std::isfinite(s.y[i + 1])) {
        const auto q = to_pixel(s.x[i + 1], s.y[i + 1]);
        if (s.dashed) {
          dashed_line(image, p, q, colour);
        } else {
          cv::line(image, p, q, colour, 2, cv::LINE_AA);
        }
      }
    }
    const int y = kTop + 20 + 20 * static_cast<int>(k);
    cv::line(image, {legend_x, y - 5}, {legend_x + 30, y - 5}, colour, 2);
    put_text(image, s.label, {legend_x + 38, y});
  }

  AtomicOutput out(path);
  bool written = false;
  try {
    written = cv::imwrite(out.temp_path().string(), image);
  } catch (const cv::Exception&) {
    written = false;
  }
  if (!written) throw output_error(path.string(), "cannot be written", "check the folder");
  out.commit();
}

}  // namespace srkit
