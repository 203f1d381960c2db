#include "srkit/io/exif_orientation.h"

#include <libexif/exif-data.h>

#include <memory>

namespace srkit {

int exif_orientation(const std::vector<unsigned char>& encoded) {
  std::unique_ptr<ExifData, decltype(&exif_data_unref)> data(
      exif_data_new_from_data(encoded.data(), static_cast<unsigned int>(encoded.size())),
      exif_data_unref);
  if (!data) return 1;
  ExifEntry* entry = exif_data_get_entry(data.get(), EXIF_TAG_ORIENTATION);
  if (!entry || entry->format != EXIF_FORMAT_SHORT) return 1;
  const int orientation = exif_get_short(entry->data, exif_data_get_byte_order(data.get()));
  return orientation >= 1 && orientation <= 8 ? orientation : 1;
}

cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(image, out, 1);
      break;
    case 3:
      cv::rotate(image, out, cv::ROTATE_180);
      break;
    case 4:
      cv::flip(image, out, 0);
      break;
    case 5:
      cv::transpose(image, out);
      break;
    case 6:
      cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7:
      cv::transpose(image, out);
      cv::flip(out, out, -1);
      break;
    case 8:
      cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      out = image;
      break;
  }
  return out;
}

}  // namespace srkit
