// NumPy arrays from .npy files and .npz archives (numpy.save / savez / savez_compressed), as
// float32 tensors of the stored shape. Real depth data ships this way (the Middlebury disparity in
// scikit-image: motorcycle_disp.npz, key arr_0); srkit's own model files are .npz archives too
// (models/model_archive.h).
//
//   torch::Tensor disparity = srkit::read_npz("motorcycle_disp.npz", "arr_0");  // [H, W], NaN =
//   unknown
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace srkit {

// Parses the bytes of one .npy file (format 1.0-3.0; little- or big-endian bool, integer and
// float types; C or Fortran order). `name` is used in error messages.
torch::Tensor parse_npy(const std::vector<char>& bytes, const std::string& name);

torch::Tensor read_npy(const std::filesystem::path& path);

// The array stored under `key` ("arr_0" for positional savez arguments); an input Error listing the
// keys when it is absent.
torch::Tensor read_npz(const std::filesystem::path& path, const std::string& key);
std::vector<std::string> npz_keys(const std::filesystem::path& path);

// The largest member srkit reads from an .npz archive: 16 GiB, a 2-gigapixel float64 map.
inline constexpr uint64_t kMaxNpzMemberBytes = uint64_t{16} << 30;

// An .npz archive opened once to read many of its members. Sizes are the archive's word until
// read: a member declared larger than the reader's limit is refused before anything is allocated.
class NpzArchive {
 public:
  // An input Error naming `path` when it is not a readable zip archive.
  explicit NpzArchive(const std::filesystem::path& path);
  ~NpzArchive();
  NpzArchive(NpzArchive&&) noexcept;
  NpzArchive& operator=(NpzArchive&&) noexcept;

  const std::filesystem::path& path() const { return path_; }
  // The member names as stored ("arr_0.npy", "srkit.json"); an unreadable name is left out.
  std::vector<std::string> members() const;
  bool has_member(const std::string& member) const;
  // The size `member` declares (uncompressed bytes); an input Error when it is absent.
  uint64_t member_size(const std::string& member) const;
  // The bytes of `member`: an input Error naming the archive and the member when it is absent,
  // damaged, or declared larger than `max_bytes`.
  std::vector<char> read_member(const std::string& member, uint64_t max_bytes) const;
  // The array stored under `key` (member key + ".npy"), as float32; an input Error listing the
  // keys when it is absent.
  torch::Tensor array(const std::string& key, uint64_t max_bytes = kMaxNpzMemberBytes) const;

 private:
  struct Zip;
  std::filesystem::path path_;
  std::unique_ptr<Zip> zip_;
};

// Writes an .npz archive atomically, in NumPy's layout: each array as a little-endian
// float32 .npy member named key + ".npy" (in the order given), then each of `files` as it is.
// Members are stored, not deflated (weights hardly compress). An output Error naming `path` when
// it cannot be written; an existing file is replaced.
void write_npz(const std::filesystem::path& path,
               const std::vector<std::pair<std::string, torch::Tensor>>& arrays,
               const std::vector<std::pair<std::string, std::string>>& files = {});

// Writes `array` (any shape) as a little-endian float32 .npy file (format 1.0, C order),
// atomically; refuses to replace an existing file unless `overwrite`.
void write_npy(const std::filesystem::path& path, const torch::Tensor& array,
               bool overwrite = false);

}  // namespace srkit
