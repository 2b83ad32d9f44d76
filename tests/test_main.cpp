// Test entry point: one intra-op thread per core, and tests named *_CUDA skipped without a GPU.
#include <gtest/gtest.h>

#include "flowinone/core/runtime.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  fi::set_num_threads(0);
  if (!fi::cuda_available()) {
    std::string filter = ::testing::GTEST_FLAG(filter);
    filter += (filter.find('-') == std::string::npos ? "-" : ":");
    filter += "*_CUDA";
    ::testing::GTEST_FLAG(filter) = filter;
  }
  return RUN_ALL_TESTS();
}
