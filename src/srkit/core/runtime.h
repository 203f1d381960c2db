// Process-wide compute settings: threads and device. Set once by the program, before any work.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace srkit {

// Debian's LibTorch starts with one thread; srkit uses every core unless told otherwise.
// threads <= 0 means all cores. The system BLAS (OpenBLAS) gets the same count.
void set_threads(int threads);
int default_threads();

// Keeps memory that LibTorch frees inside the process for the next allocation instead of returning
// it to the kernel. glibc otherwise serves every large tensor with a fresh mmap and unmaps it when
// freed, so each forward pass page-faults all of its activations again: on this project's CPU
// machines that cost more than the convolutions of the small models. Process-wide; the srkit
// program calls it at start.
void keep_freed_memory();

// Whether bfloat16 convolutions run faster than float32 here: on CUDA, or on a CPU with
// AVX512-BF16 or AMX (read from /proc/cpuinfo). Elsewhere bf16 is emulated and far slower.
bool fast_bfloat16(const torch::Device& device);

// The memory layout fp32 models run in (Model::prepare). Debian's LibTorch sends a convolution to
// oneDNN in either layout, and which is faster depends on the CPU: channels-last was about 4x
// contiguous on the AVX-512 machines this project first ran on, while on an AVX2-only AMD EPYC
// contiguous (NCHW) ran every model family measured 1.3-1.7x faster than channels-last
// (docs/models.md, `srkit bench --layout`). So: channels-last on a CPU with AVX-512F (read from
// /proc/cpuinfo), contiguous elsewhere and on CUDA. bf16 always runs channels-last.
bool prefer_channels_last(const torch::Device& device);

// "cpu", "cuda", "cuda:N" or "auto" (CUDA when present, else CPU).
torch::Device parse_device(const std::string& name);

// Bytes of memory this process may reasonably use for one tiled pass on the device, used when the
// user gives no --max-memory: a quarter of the memory available now, at most 4 GiB.
int64_t default_memory_budget(const torch::Device& device);

}  // namespace srkit
