// Atomic output: write to a temporary file beside the destination, then rename it into place, so a
// crash, a full disk or Ctrl-C never leaves a half-written output under the final name.
//
//   srkit::AtomicOutput out("result.png");
//   cv::imwrite(out.temp_path(), image);   // any writer
//   out.commit();                          // rename; without it the destructor removes the temp
#pragma once

#include <filesystem>

namespace srkit {

class AtomicOutput {
 public:
  // The temporary name keeps the extension, so writers that choose a codec by extension still work.
  explicit AtomicOutput(const std::filesystem::path& destination);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& destination() const { return destination_; }

  // Renames the temporary file to the destination. Throws an output Error when that fails.
  void commit();

 private:
  std::filesystem::path destination_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// Removes the temporary files a killed srkit process (SIGKILL, a power cut: no destructor ran)
// left in `folder`: those named as AtomicOutput names them whose process no longer runs. Returns
// how many were removed; a folder that cannot be read removes none.
int remove_stale_temporaries(const std::filesystem::path& folder);

}  // namespace srkit
