#include "srkit/io/numpy_file.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>

#include <torch/torch.h>

#include "srkit/core/element_count.h"
#include "srkit/core/error.h"
#include "srkit/io/atomic_file.h"

namespace srkit {
namespace {

constexpr size_t kMaxHeaderBytes = 10000;
// The largest array read from an .npz archive: 16 GiB, a 2-gigapixel float64 map.
constexpr zip_uint64_t kMaxNpzArrayBytes = zip_uint64_t{16} << 30;

// The .npy header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3,
// 4), }
std::string header_field(const std::string& header, const std::string& key,
                         const std::string& name) {
  const std::regex pattern("'" + key + "'\\s*:\\s*('[^']*'|\\([^)]*\\)|True|False)");
  std::smatch match;
  if (!std::regex_search(header, match, pattern)) {
    throw input_error(name, "is not a NumPy .npy array (no '" + key + "' in its header)");
  }
  return match[1].str();
}

torch::ScalarType scalar_type(char kind, int bytes, const std::string& name) {
  if (kind == 'f' && bytes == 4) return torch::kFloat32;
  if (kind == 'f' && bytes == 8) return torch::kFloat64;
  if (kind == 'f' && bytes == 2) return torch::kFloat16;
  if (kind == 'u' && bytes == 1) return torch::kUInt8;
  if (kind == 'b' && bytes == 1) return torch::kBool;
  if (kind == 'i' && bytes == 1) return torch::kInt8;
  if (kind == 'i' && bytes == 2) return torch::kInt16;
  if (kind == 'i' && bytes == 4) return torch::kInt32;
  if (kind == 'i' && bytes == 8) return torch::kInt64;
  if (kind == 'u' && (bytes == 2 || bytes == 4)) return torch::kInt64;  // widened below
  throw input_error(name,
                    std::string("holds NumPy dtype kind '") + kind + "' of " +
                        std::to_string(bytes) + " bytes, which srkit does not read",
                    "save it as float32");
}

}  // namespace

torch::Tensor parse_npy(const std::vector<char>& bytes, const std::string& name) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    throw input_error(name, "is not a NumPy .npy array (bad magic)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_length = 0, offset = 0;
  if (major == 1) {
    header_length = static_cast<unsigned char>(bytes[8]) |
                    (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else {
    if (bytes.size() < 12) throw input_error(name, "is a truncated .npy file");
    for (int i = 0; i < 4; ++i) {
      header_length |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    }
    offset = 12;
  }
  // NumPy itself refuses headers over 10,000 bytes by default (max_header_size); so does srkit,
  // before its regular expressions walk one.
  if (header_length > kMaxHeaderBytes) {
    throw input_error(name, "has a .npy header of " + std::to_string(header_length) +
                                " bytes, more than NumPy writes (" +
                                std::to_string(kMaxHeaderBytes) + ")");
  }
  if (offset + header_length > bytes.size()) throw input_error(name, "is a truncated .npy file");
  const std::string header(bytes.data() + offset, header_length);
  const auto descr = header_field(header, "descr", name);  // e.g. '<f4'
  const bool fortran = header_field(header, "fortran_order", name) == "True";
  const auto shape_text = header_field(header, "shape", name);
  // descr is quoted: '<f4' is the byte order, the kind and the item size in bytes.
  const std::string width = descr.size() >= 4 ? descr.substr(3, descr.size() - 4) : "";
  if (width.empty() || width.size() > 2 ||
      !std::all_of(width.begin(), width.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw input_error(name, "has an unsupported dtype " + descr);
  }
  const char order = descr[1], kind = descr[2];
  const int item = std::stoi(width);
  if (item < 1) throw input_error(name, "has an unsupported dtype " + descr);
  std::vector<int64_t> shape;
  const std::regex number("[0-9]+");
  for (auto it = std::sregex_iterator(shape_text.begin(), shape_text.end(), number);
       it != std::sregex_iterator(); ++it) {
    // A side of more than 15 digits is beyond any file: leave it to the check below.
    shape.push_back(it->length() > 15 ? -1 : std::stoll(it->str()));
  }
  const size_t data_offset = offset + header_length;
  const auto available = static_cast<int64_t>((bytes.size() - data_offset) / item);
  const auto counted = element_count(shape);
  if (!counted || *counted > available) {
    throw input_error(name, "is a truncated .npy file (fewer values than its shape)");
  }
  const int64_t count = *counted;
  (void)scalar_type(kind, item, name);  // refuse an unknown dtype before copying its bytes
  // Read the raw values in their stored width, swapping bytes for big-endian data.
  std::vector<char> raw(bytes.begin() + data_offset, bytes.begin() + data_offset + count * item);
  if (order == '>' && item > 1) {
    for (int64_t i = 0; i < count; ++i)
      std::reverse(raw.begin() + i * item, raw.begin() + (i + 1) * item);
  }
  torch::Tensor values;
  if (kind == 'u' && item == 2) {
    values = torch::from_blob(raw.data(), {count}, torch::kInt16)
                 .clone()
                 .to(torch::kInt32)
                 .bitwise_and(0xFFFF);
  } else if (kind == 'u' && item == 4) {
    values = torch::from_blob(raw.data(), {count}, torch::kInt32)
                 .clone()
                 .to(torch::kInt64)
                 .bitwise_and(static_cast<int64_t>(0xFFFFFFFF));
  } else {
    values = torch::from_blob(raw.data(), {count}, scalar_type(kind, item, name)).clone();
  }
  if (!fortran) return values.reshape(shape).to(torch::kFloat32);
  std::vector<int64_t> reversed(shape.rbegin(), shape.rend());
  std::vector<int64_t> permutation;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) permutation.push_back(d);
  return values.reshape(reversed).permute(permutation).contiguous().to(torch::kFloat32);
}

torch::Tensor read_npy(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path.string(), "cannot be read", "check the path");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  return parse_npy(bytes, path.string());
}

namespace {

struct ZipCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipArchive = std::unique_ptr<zip_t, ZipCloser>;

ZipArchive open_npz(const std::filesystem::path& path) {
  int error = 0;
  ZipArchive archive(zip_open(path.c_str(), ZIP_RDONLY, &error));
  if (!archive) {
    throw input_error(path.string(),
                      "is not a readable .npz archive (zip error " + std::to_string(error) + ")");
  }
  return archive;
}

}  // namespace

std::vector<std::string> npz_keys(const std::filesystem::path& path) {
  const auto archive = open_npz(path);
  std::vector<std::string> keys;
  const auto entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* name = zip_get_name(archive.get(), i, 0);
    if (!name) continue;  // a damaged entry: its key cannot be asked for
    std::string entry = name;
    if (entry.size() > 4 && entry.substr(entry.size() - 4) == ".npy")
      entry.resize(entry.size() - 4);
    keys.push_back(entry);
  }
  return keys;
}

torch::Tensor read_npz(const std::filesystem::path& path, const std::string& key) {
  const auto archive = open_npz(path);
  const auto entry_name = key + ".npy";
  zip_stat_t stat;
  if (zip_stat(archive.get(), entry_name.c_str(), 0, &stat) != 0) {
    std::string keys;
    for (const auto& k : npz_keys(path)) keys += (keys.empty() ? "" : ", ") + k;
    throw input_error(path.string(), "has no array '" + key + "' (it holds: " + keys + ")");
  }
  // The declared size is the archive's word: the bytes are read as they come, up to it, so a
  // small file claiming a huge array allocates nothing; an array past the limit (a deflate bomb
  // inflates 1000:1) is refused.
  if (!(stat.valid & ZIP_STAT_SIZE) || stat.size > kMaxNpzArrayBytes) {
    throw input_error(path.string(),
                      "declares an array " + key + " of " + std::to_string(stat.size >> 20) +
                          " MB, more than srkit reads from an .npz (" +
                          std::to_string(kMaxNpzArrayBytes >> 30) + " GB)",
                      "save the array as a .npy file");
  }
  std::vector<char> bytes;
  zip_file_t* file = zip_fopen(archive.get(), entry_name.c_str(), 0);
  bool ok = file != nullptr;
  while (ok && bytes.size() < stat.size) {
    const size_t start = bytes.size();
    bytes.resize(std::min<size_t>(stat.size, start + (size_t{1} << 22)));
    const auto got = zip_fread(file, bytes.data() + start, bytes.size() - start);
    ok = got == static_cast<zip_int64_t>(bytes.size() - start);
  }
  if (file) zip_fclose(file);
  if (!ok) throw input_error(path.string(), "is a damaged .npz archive (cannot read " + key + ")");
  return parse_npy(bytes, path.string() + ":" + key);
}

void write_npy(const std::filesystem::path& path, const torch::Tensor& array, bool overwrite) {
  if (!overwrite && std::filesystem::exists(path)) {
    throw output_error(path.string(), "already exists", "choose another name or add {{overwrite}}");
  }
  const auto values = array.to(torch::kFloat32).contiguous();
  std::string shape;
  for (int64_t i = 0; i < values.dim(); ++i) {
    shape += (i > 0 ? ", " : "") + std::to_string(values.size(i));
  }
  if (values.dim() == 1) shape += ",";  // Python's one-element tuple: (5,)
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';  // data aligned to 64 bytes
  header += '\n';
  const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const uint16_t header_length = static_cast<uint16_t>(header.size());
  AtomicOutput out(path);
  std::ofstream file(out.temp_path(), std::ios::binary);
  file.write(magic, sizeof magic);
  const char length_bytes[2] = {static_cast<char>(header_length & 0xff),
                                static_cast<char>(header_length >> 8)};
  file.write(length_bytes, 2);
  file << header;
  file.write(static_cast<const char*>(values.data_ptr()),
             static_cast<std::streamsize>(values.numel() * sizeof(float)));
  file.close();
  if (!file)
    throw output_error(path.string(), "cannot be written", "check the folder and disk space");
  out.commit();
}

}  // namespace srkit
