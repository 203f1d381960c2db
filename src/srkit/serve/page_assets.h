// The files of srkit serve's page (src/srkit/serve/page/), embedded in the program by the build
// (cmake/embed_page.cmake) so that the page works offline, from any folder, with nothing fetched.
#pragma once

#include <string>
#include <vector>

namespace srkit::serve {

struct PageAsset {
  std::string path;          // as requested: "/", "/app.js", ...
  std::string content_type;  // with its charset
  std::string body;
};

const std::vector<PageAsset>& page_assets();

}  // namespace srkit::serve
