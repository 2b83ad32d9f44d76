// Seeded random number generators.
//
// Every random draw in the library goes through an explicit at::Generator created from a seed, so
// a run with the same seed on the same build gives the same numbers, whatever else ran before.
// Generators live on the CPU; draws are moved to the target device afterwards, which keeps results
// identical between CPU and CUDA runs for the small tensors of the 2D cases.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace fi {

/// A CPU generator seeded with `seed`.
at::Generator make_generator(std::uint64_t seed);

/// Seeds torch's global generators (CPU and CUDA) too, for code paths outside our control.
void seed_global(std::uint64_t seed);

/// Torch's global CPU generator: what dropout and parameter initialization draw from.
at::Generator global_cpu_generator();

/// Restores the global CPU generator's state when it goes out of scope, so that building a
/// throw-away model (which draws initial weights) does not shift a run's later draws.
class GlobalGeneratorRestorer {
 public:
  GlobalGeneratorRestorer();
  ~GlobalGeneratorRestorer();
  GlobalGeneratorRestorer(const GlobalGeneratorRestorer&) = delete;
  GlobalGeneratorRestorer& operator=(const GlobalGeneratorRestorer&) = delete;

 private:
  at::Tensor state_;
};

}  // namespace fi
