#include "flowinone/core/random.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

namespace fi {

at::Generator make_generator(std::uint64_t seed) { return at::detail::createCPUGenerator(seed); }

void seed_global(std::uint64_t seed) { torch::manual_seed(seed); }

at::Generator global_cpu_generator() { return at::detail::getDefaultCPUGenerator(); }

GlobalGeneratorRestorer::GlobalGeneratorRestorer() : state_(global_cpu_generator().get_state()) {}

GlobalGeneratorRestorer::~GlobalGeneratorRestorer() { global_cpu_generator().set_state(state_); }

}  // namespace fi
