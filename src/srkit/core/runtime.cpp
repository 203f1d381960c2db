#include "srkit/core/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

// Whether the CPU flags line of /proc/cpuinfo lists `flag` ("avx512f", "amx_bf16", ...). The
// line is read once: every model's prepare asks.
bool cpu_has_flag(const std::string& flag) {
  static const std::string flags = [] {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
      if (line.rfind("flags", 0) == 0) return line + " ";
    }
    return std::string();
  }();
  return flags.find(" " + flag + " ") != std::string::npos;
}

}  // namespace

bool fast_bfloat16(const torch::Device& device) {
  if (device.is_cuda()) return true;
  return cpu_has_flag("avx512_bf16") || cpu_has_flag("amx_bf16");
}

bool prefer_channels_last(const torch::Device& device) {
  return device.is_cpu() && cpu_has_flag("avx512f");
}

int default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

void set_threads(int threads) {
  const int count = threads > 0 ? threads : default_threads();
  at::set_num_threads(count);
  // Matrix products go to the system BLAS, which keeps its own thread pool; OpenBLAS's threads
  // busy-wait, so a pool larger than ours steals the cores of other processes (two training
  // processes on two cores ran at 0.55x their speed with it). Looked up at run time: the system
  // BLAS may be another implementation.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(count);
  }
}

void keep_freed_memory() {
  constexpr int kNever = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kNever);  // serve large blocks from the heap, where they are reused
  mallopt(M_TRIM_THRESHOLD, kNever);  // and do not hand the heap's top back after each pass
  mallopt(M_ARENA_MAX, 1);            // one arena: blocks freed by one thread serve the others
}

torch::Device parse_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw usage_error("{{device}} " + name +
                        ": this build of srkit sees no CUDA device (use {{device}} cpu)");
    }
    return torch::Device(name);
  }
  throw usage_error("{{device}} " + name + ": unknown device (use cpu, cuda, cuda:N or auto)");
}

namespace {

int64_t available_host_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
}

}  // namespace

int64_t default_memory_budget(const torch::Device& device) {
  constexpr int64_t kCap = int64_t{4} << 30;
  if (device.is_cuda()) return kCap;  // refined by the out-of-memory retry in the tiler
  return std::min(kCap, available_host_memory() / 4);
}

}  // namespace srkit
