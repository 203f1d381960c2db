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

// The key NumPy gives a member: its name without ".npy".
std::string array_key(std::string member) {
  if (member.size() > 4 && member.substr(member.size() - 4) == ".npy")
    member.resize(member.size() - 4);
  return member;
}

}  // namespace

struct NpzArchive::Zip {
  zip_t* archive = nullptr;
  ~Zip() {
    if (archive) zip_discard(archive);
  }
};

NpzArchive::NpzArchive(const std::filesystem::path& path) : path_(path), zip_(new Zip) {
  int error = 0;
  zip_->archive = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (!zip_->archive) {
    throw input_error(path.string(),
                      "is not a readable .npz archive (zip error " + std::to_string(error) + ")");
  }
}

NpzArchive::~NpzArchive() = default;
NpzArchive::NpzArchive(NpzArchive&&) noexcept = default;
NpzArchive& NpzArchive::operator=(NpzArchive&&) noexcept = default;

std::vector<std::string> NpzArchive::members() const {
  std::vector<std::string> names;
  const auto entries = zip_get_num_entries(zip_->archive, 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* name = zip_get_name(zip_->archive, i, 0);
    if (name) names.emplace_back(name);  // a damaged entry: it cannot be asked for
  }
  return names;
}

bool NpzArchive::has_member(const std::string& member) const {
  return zip_name_locate(zip_->archive, member.c_str(), 0) >= 0;
}

uint64_t NpzArchive::member_size(const std::string& member) const {
  zip_stat_t stat;
  if (zip_stat(zip_->archive, member.c_str(), 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE)) {
    throw input_error(path_.string(), "has no member " + member);
  }
  return stat.size;
}

std::vector<char> NpzArchive::read_member(const std::string& member, uint64_t max_bytes) const {
  const auto where = path_.string() + ":" + member;
  zip_stat_t stat;
  if (zip_stat(zip_->archive, member.c_str(), 0, &stat) != 0) {
    throw input_error(path_.string(), "has no member " + member);
  }
  // The declared size is the archive's word: the bytes are read as they come, up to it, so a
  // small file claiming a huge member allocates nothing; a member past the limit (a deflate bomb
  // inflates 1000:1) is refused.
  if (!(stat.valid & ZIP_STAT_SIZE) || stat.size > max_bytes) {
    throw input_error(where, "declares " + std::to_string(stat.size) + " bytes, more than the " +
                                 std::to_string(max_bytes) + " srkit reads there");
  }
  std::vector<char> bytes;
  zip_file_t* file = zip_fopen(zip_->archive, member.c_str(), 0);
  bool ok = file != nullptr;
  while (ok && bytes.size() < stat.size) {
    const size_t start = bytes.size();
    bytes.resize(std::min<size_t>(stat.size, start + (size_t{1} << 22)));
    const auto got = zip_fread(file, bytes.data() + start, bytes.size() - start);
    ok = got == static_cast<zip_int64_t>(bytes.size() - start);
  }
  if (file) zip_fclose(file);
  if (!ok) throw input_error(where, "is damaged (its bytes cannot be read)");
  return bytes;
}

torch::Tensor NpzArchive::array(const std::string& key, uint64_t max_bytes) const {
  const auto member = key + ".npy";
  if (!has_member(member)) {
    std::string keys;
    for (const auto& k : members()) keys += (keys.empty() ? "" : ", ") + array_key(k);
    throw input_error(path_.string(), "has no array '" + key + "' (it holds: " + keys + ")");
  }
  return parse_npy(read_member(member, max_bytes), path_.string() + ":" + key);
}

std::vector<std::string> npz_keys(const std::filesystem::path& path) {
  std::vector<std::string> keys;
  for (const auto& member : NpzArchive(path).members()) keys.push_back(array_key(member));
  return keys;
}

torch::Tensor read_npz(const std::filesystem::path& path, const std::string& key) {
  return NpzArchive(path).array(key);
}

namespace {

// The bytes of `array` as a little-endian float32 .npy file (format 1.0, C order).
std::string npy_bytes(const torch::Tensor& array) {
  const auto values = array.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  std::string shape;
  for (int64_t i = 0; i < values.dim(); ++i) {
    shape += (i > 0 ? ", " : "") + std::to_string(values.size(i));
  }
  if (values.dim() == 1) shape += ",";  // Python's one-element tuple: (5,)
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';  // data aligned to 64 bytes
  header += '\n';
  const auto header_length = static_cast<uint16_t>(header.size());
  std::string bytes = {'\x93',
                       'N',
                       'U',
                       'M',
                       'P',
                       'Y',
                       1,
                       0,
                       static_cast<char>(header_length & 0xff),
                       static_cast<char>(header_length >> 8)};
  bytes += header;
  bytes.append(static_cast<const char*>(values.data_ptr()),
               static_cast<size_t>(values.numel()) * sizeof(float));
  return bytes;
}

}  // namespace

void write_npz(const std::filesystem::path& path,
               const std::vector<std::pair<std::string, torch::Tensor>>& arrays,
               const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::pair<std::string, std::string>> members;
  for (const auto& [key, array] : arrays) members.emplace_back(key + ".npy", npy_bytes(array));
  members.insert(members.end(), files.begin(), files.end());
  AtomicOutput out(path);
  int error = 0;
  zip_t* archive = zip_open(out.temp_path().c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  bool ok = archive != nullptr;
  // libzip reads the buffers when the archive is closed: `members` outlives it.
  for (size_t i = 0; ok && i < members.size(); ++i) {
    const auto& [name, bytes] = members[i];
    zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    const auto index =
        source ? zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8) : zip_int64_t{-1};
    if (index < 0 && source) zip_source_free(source);
    ok = index >= 0 && zip_set_file_compression(archive, index, ZIP_CM_STORE, 0) == 0;
  }
  std::string reason =
      ok ? "" : (archive ? zip_strerror(archive) : "zip error " + std::to_string(error));
  if (archive && ok && zip_close(archive) != 0) {
    ok = false;
    reason = zip_strerror(archive);
  }
  if (archive && !ok) zip_discard(archive);
  if (!ok) {
    throw output_error(path.string(), "cannot be written (" + reason + ")",
                       "check the folder and disk space");
  }
  out.commit();
}

void write_npy(const std::filesystem::path& path, const torch::Tensor& array, bool overwrite) {
  if (!overwrite && std::filesystem::exists(path)) {
    throw output_error(path.string(), "already exists", "choose another name or add {{overwrite}}");
  }
  const auto bytes = npy_bytes(array);
  AtomicOutput out(path);
  std::ofstream file(out.temp_path(), std::ios::binary);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file)
    throw output_error(path.string(), "cannot be written", "check the folder and disk space");
  out.commit();
}

}  // namespace srkit
