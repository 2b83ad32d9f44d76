// The one file that speaks c10d. LibTorch 1.13 (Debian) and 2.x (PyTorch's own) differ here:
// 1.13's ProcessGroupGloo derives from c10d::ProcessGroup, 2.x's from c10d::Backend; the calls
// used below (TCPStore with TCPStoreOptions, Options::create, allreduce, broadcast, Work::wait)
// have the same shape in both. The c10d backend headers are guarded by USE_C10D_GLOO /
// USE_C10D_NCCL, which LibTorch's CMake config does not define for its users: we define them
// here, Gloo when its headers are found, NCCL only in builds configured with FLOWINONE_WITH_NCCL.
#include "flowinone/train/distributed.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <torch/version.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "flowinone/core/errors.h"

#if __has_include(<gloo/algorithm.h>) && \
    __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define FLOWINONE_HAVE_GLOO 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#ifdef FLOWINONE_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

namespace fi {

namespace {

#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;  // 2.x: a process group holds backends; we use one directly
#else
using BackendBase = c10d::ProcessGroup;  // 1.13: the backend is the process group
#endif

std::string seconds_text(std::chrono::milliseconds timeout) {
  std::ostringstream out;
  out << static_cast<double>(timeout.count()) / 1000.0 << " s";
  return out.str();
}

int parse_env_int(const EnvLookup& env, const std::string& name, std::optional<int> fallback,
                  int min_value, int max_value) {
  const std::optional<std::string> text = env(name);
  if (!text || text->empty()) {
    check_arg(fallback.has_value(), "[distributed] the environment variable ", name,
              " is required for a distributed run (set RANK, WORLD_SIZE, MASTER_ADDR, "
              "MASTER_PORT, or start the ranks with `flowinone launch`)");
    return *fallback;
  }
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text->c_str(), &end, 10);
  check_arg(errno == 0 && end != text->c_str() && *end == '\0' && value >= min_value &&
                value <= max_value,
            "[distributed] ", name, "='", *text, "' must be an integer in [", min_value, ", ",
            max_value, "]");
  return static_cast<int>(value);
}

std::vector<std::uint8_t> to_bytes(const std::string& text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

std::string from_bytes(const std::vector<std::uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

}  // namespace

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

bool distributed_requested(const EnvLookup& env) { return env("WORLD_SIZE").has_value(); }

DistributedOptions distributed_options_from_env(const EnvLookup& env) {
  DistributedOptions options;
  options.world_size = parse_env_int(env, "WORLD_SIZE", std::nullopt, 1, 1 << 16);
  options.rank = parse_env_int(env, "RANK", std::nullopt, 0, 1 << 16);
  check_arg(options.rank < options.world_size, "[distributed] RANK=", options.rank,
            " must be below WORLD_SIZE=", options.world_size);
  options.local_rank = parse_env_int(env, "LOCAL_RANK", options.rank, 0, 1 << 16);
  options.master_port = parse_env_int(env, "MASTER_PORT", 29500, 1, 65535);
  const std::optional<std::string> address = env("MASTER_ADDR");
  if (address && !address->empty()) options.master_addr = *address;
  return options;
}

bool distributed_backend_available(const c10::Device& device) {
#ifdef FLOWINONE_WITH_NCCL
  if (device.is_cuda()) return true;
#endif
#ifdef FLOWINONE_HAVE_GLOO
  return device.is_cpu() || device.is_cuda();
#else
  return false;
#endif
}

c10::Device device_for_rank(const c10::Device& configured, int local_rank) {
  if (configured.is_cuda() && !configured.has_index())
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
  return configured;
}

void PendingCollective::wait() {
  if (!wait_) return;
  auto wait = std::move(wait_);
  wait_ = nullptr;
  wait();
}

struct DistributedContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<BackendBase> backend;
  std::string backend_name = "none";
  c10::Device device = c10::Device(c10::kCPU);
  std::int64_t num_shared = 0;
};

namespace {

// Runs `body`, turning c10d's exceptions (c10::Error, gloo's std::runtime_error) into a
// DistributedError that says which collective failed on which rank and why that usually happens.
template <typename Body>
auto guarded(const char* operation, const DistributedOptions& options, Body&& body)
    -> decltype(body()) {
  try {
    return body();
  } catch (const DistributedError&) {
    throw;
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const c10::Error& error) {
    throw DistributedError(
        std::string("[distributed] ") + operation + " failed on rank " +
        std::to_string(options.rank) + " of " + std::to_string(options.world_size) +
        ": another rank died, stopped answering within the " + seconds_text(options.timeout) +
        " timeout, or left the group (" + error.what_without_backtrace() + ")");
  } catch (const std::exception& error) {
    throw DistributedError(
        std::string("[distributed] ") + operation + " failed on rank " +
        std::to_string(options.rank) + " of " + std::to_string(options.world_size) +
        ": another rank died, stopped answering within the " + seconds_text(options.timeout) +
        " timeout, or left the group (" + error.what() + ")");
  }
}

// Whether something accepts TCP connections at host:port now (a connect that succeeds within
// `wait`, then closed).
bool port_open(const std::string& host, int port, std::chrono::milliseconds wait) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses) != 0)
    return false;
  bool open = false;
  for (addrinfo* a = addresses; a != nullptr && !open; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      open = true;
    } else if (errno == EINPROGRESS) {
      pollfd poll_fd{fd, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof error;
      open = ::poll(&poll_fd, 1, static_cast<int>(wait.count())) == 1 &&
             ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
    ::close(fd);
  }
  ::freeaddrinfo(addresses);
  return open;
}

c10::intrusive_ptr<c10d::Store> open_store(const DistributedOptions& options) {
  if (options.rank != 0) {
    // Wait for rank 0's store ourselves: TCPStore's own client retries only every second or so,
    // which adds seconds to every start where all ranks begin together.
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    while (!port_open(options.master_addr, options.master_port, std::chrono::milliseconds(500))) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw DistributedError("[distributed] rank " + std::to_string(options.rank) +
                               " found no rendezvous store at " + options.master_addr + ":" +
                               std::to_string(options.master_port) + " within " +
                               seconds_text(options.timeout) +
                               " (is rank 0 running, with the same MASTER_ADDR and MASTER_PORT?)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(options.master_port);
  store_options.isServer = options.rank == 0;
  store_options.numWorkers = options.world_size;
  store_options.waitWorkers = false;  // we count arrivals ourselves, with a clearer message
  store_options.timeout = options.timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
  } catch (const std::exception& error) {
    std::string what = error.what();
    if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error))
      what = c10_error->what_without_backtrace();
    if (options.rank == 0) {
      throw std::invalid_argument(
          "[distributed] rank 0 cannot serve the rendezvous store on " + options.master_addr + ":" +
          std::to_string(options.master_port) +
          " (is MASTER_PORT in use, or MASTER_ADDR not an address of this host?): " + what);
    }
    throw DistributedError("[distributed] rank " + std::to_string(options.rank) +
                           " cannot reach the rendezvous store of rank 0 at " +
                           options.master_addr + ":" + std::to_string(options.master_port) +
                           " within " + seconds_text(options.timeout) + ": " + what);
  }
}

// Every rank announces itself and its WORLD_SIZE; ranks that disagree with rank 0, a RANK given
// twice and ranks that never arrive are reported by name instead of as a bare store timeout.
void check_in(c10d::Store& store, const DistributedOptions& options) {
  const std::string rank = std::to_string(options.rank);
  const std::int64_t copies = store.add("flowinone/rank/" + rank, 1);
  check_arg(copies == 1, "[distributed] two processes were started with RANK=", rank);
  if (options.rank == 0)
    store.set("flowinone/world_size", to_bytes(std::to_string(options.world_size)));
  const std::string main_world_size = from_bytes(store.get("flowinone/world_size"));
  check_arg(main_world_size == std::to_string(options.world_size),
            "[distributed] WORLD_SIZE=", options.world_size, " on rank ", rank,
            " but WORLD_SIZE=", main_world_size,
            " on rank 0: start every rank with the same value");
  std::int64_t arrived = store.add("flowinone/arrived", 1);
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  while (arrived < options.world_size) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw DistributedError("[distributed] only " + std::to_string(arrived) + " of " +
                             std::to_string(options.world_size) + " ranks joined " +
                             options.master_addr + ":" + std::to_string(options.master_port) +
                             " within " + seconds_text(options.timeout) +
                             " (were all WORLD_SIZE ranks started, with the same MASTER_ADDR "
                             "and MASTER_PORT?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    arrived = store.add("flowinone/arrived", 0);
  }
  check_arg(arrived == options.world_size, "[distributed] ", arrived,
            " processes joined a group of WORLD_SIZE=", options.world_size);
}

#ifdef FLOWINONE_HAVE_GLOO
std::shared_ptr<::gloo::transport::Device> gloo_device(const DistributedOptions& options) {
  // GLOO_SOCKET_IFNAME picks the network interface, as in PyTorch; a loopback master means a
  // single host, where binding to loopback avoids surprises with the host name's address.
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface)
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  if (is_loopback(options.master_addr))
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

}  // namespace

DistributedContext::DistributedContext(const DistributedOptions& options,
                                       std::unique_ptr<Impl> impl)
    : options_(options), impl_(std::move(impl)) {}

DistributedContext::~DistributedContext() {
#if defined(FLOWINONE_WITH_NCCL) && TORCH_VERSION_MAJOR >= 2
  // 2.x's NCCL backend expects an explicit shutdown (it warns of leaked resources otherwise).
  if (impl_ && impl_->backend) {
    if (auto nccl = c10::dynamic_intrusive_pointer_cast<c10d::ProcessGroupNCCL>(impl_->backend)) {
      try {
        nccl->shutdown();
      } catch (const std::exception&) {
        // A failed peer may have left the communicator broken; exiting is all that is left.
      }
    }
  }
#endif
}

std::shared_ptr<DistributedContext> DistributedContext::connect(const DistributedOptions& options,
                                                                const c10::Device& device) {
  check_arg(options.world_size >= 1 && options.rank >= 0 && options.rank < options.world_size,
            "[distributed] rank ", options.rank, " outside a world of ", options.world_size);
  check_arg(options.timeout.count() > 0, "[distributed] the timeout must be positive");
  check_arg(distributed_backend_available(device),
            "[distributed] this build has no c10d backend for ", device.str(),
            " (Gloo headers missing at build time, or NCCL not enabled with FLOWINONE_WITH_NCCL)");
  auto impl = std::make_unique<Impl>();
  impl->device = device;
  impl->store = open_store(options);
  guarded("joining the group", options, [&] { check_in(*impl->store, options); });

#ifdef FLOWINONE_WITH_NCCL
  if (device.is_cuda()) {
    guarded("connecting NCCL", options, [&] {
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = options.timeout;
      impl->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, options.rank,
                                                                  options.world_size, nccl_options);
    });
    impl->backend_name = "nccl";
  }
#endif
#ifdef FLOWINONE_HAVE_GLOO
  if (!impl->backend) {
    guarded("connecting Gloo", options, [&] {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
      gloo_options->devices.push_back(gloo_device(options));
      impl->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, options.rank,
                                                                  options.world_size, gloo_options);
    });
    impl->backend_name = "gloo";
  }
#endif
  return std::shared_ptr<DistributedContext>(new DistributedContext(options, std::move(impl)));
}

const char* DistributedContext::backend_name() const { return impl_->backend_name.c_str(); }

PendingCollective DistributedContext::all_reduce_sum_async(torch::Tensor tensor) {
  if (options_.world_size == 1) return {};
  return guarded("all-reduce", options_, [&] {
    std::vector<torch::Tensor> tensors{tensor};
    c10d::AllreduceOptions reduce_options;
    reduce_options.timeout = options_.timeout;
    auto work = impl_->backend->allreduce(tensors, reduce_options);
    const DistributedOptions options = options_;
    return PendingCollective(
        [work, options] { guarded("all-reduce", options, [&] { work->wait(); }); });
  });
}

void DistributedContext::all_reduce_sum(torch::Tensor tensor) {
  all_reduce_sum_async(std::move(tensor)).wait();
}

void DistributedContext::broadcast(std::vector<torch::Tensor> tensors, int root) {
  check_arg(root >= 0 && root < options_.world_size, "[broadcast] root ", root,
            " outside a world of ", options_.world_size);
  if (options_.world_size == 1 || tensors.empty()) return;
  guarded("broadcast", options_, [&] {
    // One collective per tensor: the model's few dozen tensors cost milliseconds, once.
    for (auto& tensor : tensors) {
      std::vector<torch::Tensor> one{tensor};
      c10d::BroadcastOptions broadcast_options;
      broadcast_options.rootRank = root;
      broadcast_options.timeout = options_.timeout;
      impl_->backend->broadcast(one, broadcast_options)->wait();
    }
  });
}

std::string DistributedContext::share_from_main(const std::string& key, const std::string& value) {
  if (options_.world_size == 1) return value;
  return guarded("sharing a value through the store", options_, [&] {
    // Numbered keys: a second call with the same key must not read the first call's value.
    const std::string store_key =
        "flowinone/shared/" + std::to_string(impl_->num_shared++) + "/" + key;
    if (is_main()) impl_->store->set(store_key, to_bytes(value));
    return from_bytes(impl_->store->get(store_key));
  });
}

void DistributedContext::barrier() {
  // An all-reduce of one number: a barrier that works the same on every backend.
  all_reduce_sum(torch::zeros({1}, torch::TensorOptions().device(impl_->device)));
}

}  // namespace fi
