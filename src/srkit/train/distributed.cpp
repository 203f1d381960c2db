#include "srkit/train/distributed.h"

#include <chrono>
#include <cstdlib>

#include <torch/torch.h>

#include "srkit/core/error.h"

#ifdef SRKIT_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace srkit {
namespace {

int integer_variable(const char* name, int fallback, int low, int high) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < low || value > high) {
    throw usage_error(std::string(name) + "=" + text + ": must be an integer from " +
                      std::to_string(low) + " to " + std::to_string(high));
  }
  return static_cast<int>(value);
}

}  // namespace

DistributedEnvironment distributed_environment() {
  DistributedEnvironment env;
  env.world_size = integer_variable("WORLD_SIZE", 1, 1, 4096);
  env.rank = integer_variable("RANK", 0, 0, env.world_size - 1);
  if (std::getenv("RANK") && !std::getenv("WORLD_SIZE")) {
    throw usage_error("RANK is set but WORLD_SIZE is not: set both (and MASTER_ADDR, MASTER_PORT)");
  }
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) env.master_addr = addr;
  env.master_port = integer_variable("MASTER_PORT", 29500, 1, 65535);
  return env;
}

#ifdef SRKIT_HAVE_GLOO

bool distributed_available() { return true; }

struct ProcessGroup::Backend {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(const DistributedEnvironment& environment, int timeout_s)
    : environment_(environment) {
  if (environment.world_size == 1) return;
  backend_ = std::make_unique<Backend>();
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(environment.master_port);
    options.isServer = environment.rank == 0;
    options.numWorkers = environment.world_size;
    options.timeout = std::chrono::seconds(timeout_s);
    backend_->store = c10::make_intrusive<c10d::TCPStore>(environment.master_addr, options);
    auto gloo = c10d::ProcessGroupGloo::Options::create();
    gloo->timeout = std::chrono::seconds(timeout_s);
    gloo->devices.push_back(
        c10d::ProcessGroupGloo::createDeviceForHostname(environment.master_addr));
    backend_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(backend_->store, environment.rank,
                                                                  environment.world_size, gloo);
  } catch (const std::exception& e) {
    throw setup_error("distributed rendezvous at " + environment.master_addr + ":" +
                      std::to_string(environment.master_port) + " failed for rank " +
                      std::to_string(environment.rank) + " (" + e.what() +
                      "); check MASTER_ADDR/MASTER_PORT and that every rank started");
  }
}

void ProcessGroup::average(const std::vector<torch::Tensor>& tensors) {
  if (!backend_ || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat_parts;
  for (const auto& t : tensors) flat_parts.push_back(t.reshape({-1}));
  std::vector<torch::Tensor> buffer{torch::cat(flat_parts)};
  backend_->group->allreduce(buffer)->wait();
  buffer[0].div_(environment_.world_size);
  int64_t offset = 0;
  for (const auto& t : tensors) {
    t.copy_(buffer[0].slice(0, offset, offset + t.numel()).view_as(t));
    offset += t.numel();
  }
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors) {
  if (!backend_) return;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    std::vector<torch::Tensor> one{t.contiguous()};
    backend_->group->broadcast(one)->wait();
    if (!one[0].is_same(t)) t.copy_(one[0]);
  }
}

void ProcessGroup::barrier() {
  if (backend_) backend_->group->barrier()->wait();
}

#else

bool distributed_available() { return false; }

struct ProcessGroup::Backend {};

ProcessGroup::ProcessGroup(const DistributedEnvironment& environment, int)
    : environment_(environment) {
  if (environment.world_size > 1) {
    throw setup_error(
        "this srkit was built without Gloo (libgloo-dev), so it cannot train on several "
        "processes; run scripts/setup.sh and rebuild, or train with one process");
  }
}
void ProcessGroup::average(const std::vector<torch::Tensor>&) {}
void ProcessGroup::broadcast(const std::vector<torch::Tensor>&) {}
void ProcessGroup::barrier() {}

#endif

ProcessGroup::~ProcessGroup() = default;

}  // namespace srkit
