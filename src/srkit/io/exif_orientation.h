// EXIF orientation of JPEG photos (phones store pictures sideways and set this tag).
#pragma once

#include <vector>

#include <opencv2/core.hpp>

namespace srkit {

// The EXIF Orientation tag (1..8) of an encoded image, 1 when it has none.
int exif_orientation(const std::vector<unsigned char>& encoded);

// Rotates/flips a decoded image so that it displays upright for the given orientation tag.
cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation);

}  // namespace srkit
