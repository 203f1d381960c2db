// SHA-256 of files, used to verify downloaded weights against the committed manifest.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace srkit {

// Lower-case hex digest of the file's bytes. Throws a setup Error if it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

// Reads a `sha256sum`-style manifest ("<hex>  <relative path>" per line) into path -> digest.
std::map<std::string, std::string> read_sha256_manifest(const std::filesystem::path& manifest);

}  // namespace srkit
