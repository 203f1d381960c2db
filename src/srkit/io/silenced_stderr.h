// libpng, libjpeg and libtiff print their own warnings (e.g. "iCCP: known incorrect sRGB profile")
// straight to stderr, between srkit's messages. srkit reports unusable files itself, so the codecs'
// chatter is silenced while they run through OpenCV, which gives no other way to quiet them.
//
//   { const srkit::SilencedStderr quiet; cv::imwrite(...); }
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace srkit {

class SilencedStderr {
 public:
  SilencedStderr() {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    const int null = open("/dev/null", O_WRONLY);
    if (saved_ >= 0 && null >= 0) dup2(null, STDERR_FILENO);
    if (null >= 0) close(null);
  }
  ~SilencedStderr() {
    std::fflush(stderr);
    if (saved_ >= 0) {
      dup2(saved_, STDERR_FILENO);
      close(saved_);
    }
  }
  SilencedStderr(const SilencedStderr&) = delete;
  SilencedStderr& operator=(const SilencedStderr&) = delete;

 private:
  int saved_ = -1;
};

}  // namespace srkit
