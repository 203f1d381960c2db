#include "srkit/io/sha256.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "srkit/core/error.h"

namespace srkit {

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw setup_error(path.string() + ": cannot be read (run scripts/setup.sh)");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::map<std::string, std::string> read_sha256_manifest(const std::filesystem::path& manifest) {
  std::ifstream in(manifest);
  if (!in) throw setup_error(manifest.string() + ": manifest missing (restore it with git)");
  std::map<std::string, std::string> digests;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string digest, path;
    if (!(fields >> digest >> path)) continue;
    if (!path.empty() && path[0] == '*') path.erase(0, 1);  // sha256sum's binary-mode marker
    digests[path] = digest;
  }
  return digests;
}

}  // namespace srkit
