#include "flowinone/core/random.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

namespace fi {

at::Generator make_generator(std::uint64_t seed) { return at::detail::createCPUGenerator(seed); }

void seed_global(std::uint64_t seed) { torch::manual_seed(seed); }

}  // namespace fi
