// Where srkit finds what scripts/setup.sh fetches: the model weights (models/) and the data sets
// (data/). In order: the environment variable (SRKIT_MODELS, SRKIT_DATA), the installed data
// directory beside the library (<prefix>/share/srkit/models after `cmake --install`, found
// from where libsrkit itself lies, so an installed tree can be moved), then the source tree the
// library was built from (running from a build). When none exists, the installed location is
// returned, so that errors name where the files belong.
//
//   srkit::models_root() / "MANIFEST.sha256"
#pragma once

#include <filesystem>

namespace srkit {

std::filesystem::path models_root();
std::filesystem::path data_root();

}  // namespace srkit
