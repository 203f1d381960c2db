// Data-parallel training on PyTorch's distributed engine (c10d): processes meet through a TCP
// store and all-reduce with Gloo (CPU tensors). Configured like torchrun: RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT; `srkit train --nproc N` sets them for N local processes.
//
//   auto env = srkit::distributed_environment();         // world_size 1 when RANK is unset
//   srkit::ProcessGroup group(env);                       // rendezvous
//   group.average(gradients);                             // all-reduce, divided by world_size
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace srkit {

struct DistributedEnvironment {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// Reads the variables; a usage Error when they are partial or out of range.
DistributedEnvironment distributed_environment();

// True when srkit was built with Gloo (the c10d CPU backend).
bool distributed_available();

class ProcessGroup {
 public:
  // world_size 1: every collective is a no-op. Otherwise waits (up to `timeout_s`) for all ranks;
  // a collective waits as long (rank 0 validates while the others wait at the next all-reduce).
  explicit ProcessGroup(const DistributedEnvironment& environment, int timeout_s = 1800);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return environment_.rank; }
  int world_size() const { return environment_.world_size; }

  // Replaces each tensor by its mean over the ranks, in one flat all-reduce.
  void average(const std::vector<torch::Tensor>& tensors);
  // Copies rank 0's tensors to every rank.
  void broadcast(const std::vector<torch::Tensor>& tensors);
  void barrier();

 private:
  struct Backend;
  DistributedEnvironment environment_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace srkit
