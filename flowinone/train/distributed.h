// Process groups for data-parallel training, on torch's own c10d (the engine of PyTorch's DDP).
//
// Ranks find each other the way torchrun starts them: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR
// and MASTER_PORT in the environment; rank 0 serves a c10d TCPStore at MASTER_ADDR:MASTER_PORT and
// every rank joins it. Collectives run on Gloo (CPU tensors, and CUDA tensors through host copies)
// or, in builds with FLOWINONE_WITH_NCCL, on NCCL for CUDA devices.
//
// Failures never hang silently: every rendezvous step and every collective is bounded by the
// timeout (default 5 minutes). A rank that dies makes the others' next collective fail at once
// (its sockets close); one that hangs makes them fail when the timeout runs out. Both surface as
// fi::DistributedError naming the operation, the rank and the timeout. Mistakes in the variables
// (missing, malformed, a rank outside the world, ranks disagreeing on the world size, a port in
// use) are std::invalid_argument.
//
// What is deliberately not here: the gradient reducer (gradient_reducer.h) and the sharding of
// batches (the trainer's).
#pragma once

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fi {

/// A collective or rendezvous that failed at run time: a peer died, hung or became unreachable.
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr std::chrono::seconds kDefaultDistributedTimeout{300};

struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // the rank among the processes on this host: picks cuda:LOCAL_RANK
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::chrono::milliseconds timeout = kDefaultDistributedTimeout;
};

/// Looks up one environment variable; std::nullopt when unset. Tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment (std::getenv).
EnvLookup process_environment();

/// Whether the environment asks for a distributed run: WORLD_SIZE is set.
bool distributed_requested(const EnvLookup& env);

/// Reads RANK, WORLD_SIZE, LOCAL_RANK (default: RANK), MASTER_ADDR (default 127.0.0.1) and
/// MASTER_PORT (default 29500). Throws std::invalid_argument naming the variable when one is
/// missing or malformed, or when RANK is outside [0, WORLD_SIZE).
DistributedOptions distributed_options_from_env(const EnvLookup& env);

/// Whether this build can run collectives on `device` (Gloo on CPU; NCCL or Gloo on CUDA).
bool distributed_backend_available(const c10::Device& device);

/// The device a rank trains on: cuda:LOCAL_RANK when `configured` is CUDA without an index (one GPU
/// per process, as torchrun starts them), else `configured`.
c10::Device device_for_rank(const c10::Device& configured, int local_rank);

/// A completed-later collective. wait() throws DistributedError when the collective failed.
class PendingCollective {
 public:
  PendingCollective() = default;
  explicit PendingCollective(std::function<void()> wait) : wait_(std::move(wait)) {}
  void wait();
  bool valid() const { return static_cast<bool>(wait_); }

 private:
  std::function<void()> wait_;
};

/// One process group: this rank's view of the world. Collectives must be called in the same
/// order on every rank (c10d matches them by their sequence).
class DistributedContext {
 public:
  /// Joins the group: rank 0 starts the store, every rank checks in, and the backend for
  /// `device` connects all ranks. Throws std::invalid_argument for user mistakes (port in use,
  /// ranks disagreeing on WORLD_SIZE, the same RANK twice) and DistributedError when the other
  /// ranks do not all arrive within the timeout.
  static std::shared_ptr<DistributedContext> connect(const DistributedOptions& options,
                                                     const c10::Device& device);
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  int local_rank() const { return options_.local_rank; }
  bool is_main() const { return options_.rank == 0; }
  std::chrono::milliseconds timeout() const { return options_.timeout; }
  const char* backend_name() const;

  /// Sums `tensor` over all ranks in place, asynchronously: the result is there after wait().
  PendingCollective all_reduce_sum_async(torch::Tensor tensor);
  /// Sums in place and waits.
  void all_reduce_sum(torch::Tensor tensor);
  /// Overwrites every rank's tensors with rank `root`'s (in place; same shapes everywhere).
  void broadcast(std::vector<torch::Tensor> tensors, int root = 0);
  /// Returns rank 0's `value` on every rank (through the store): to check that ranks agree.
  std::string share_from_main(const std::string& key, const std::string& value);
  /// Waits until every rank has arrived.
  void barrier();

 private:
  struct Impl;
  DistributedContext(const DistributedOptions& options, std::unique_ptr<Impl> impl);
  DistributedOptions options_;
  std::unique_ptr<Impl> impl_;
};

using DistributedContextPtr = std::shared_ptr<DistributedContext>;

}  // namespace fi
