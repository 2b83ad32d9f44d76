#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "flowinone/core/heap_tuning.h"

#if defined(__GLIBC__)
#include <malloc.h>

namespace {

// Unsets a variable for the scope of one test; afterwards it is as it was (set or unset).
class UnsetVariable {
 public:
  explicit UnsetVariable(const char* name) : name_(name) {
    if (const char* value = std::getenv(name)) saved_ = value, had_ = true;
    unsetenv(name);
  }
  ~UnsetVariable() {
    if (had_) {
      setenv(name_, saved_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string saved_;
  bool had_ = false;
};

}  // namespace

TEST(HeapTuning, LargeActivationSizedBlocksComeFromTheHeapAndStayThere) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc's malloc, whose settings this tests";
#endif
  UnsetVariable a("MALLOC_MMAP_THRESHOLD_"), b("MALLOC_TRIM_THRESHOLD_"), c("MALLOC_TOP_PAD_");
  ASSERT_TRUE(fi::keep_freed_memory_in_process());
  const auto mapped_before = mallinfo2().hblks;
  // 4 MiB: above glibc's default 128 KiB mmap threshold, below the tuned 32 MiB.
  constexpr std::size_t kBytes = std::size_t{4} << 20;
  char* block = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBytes);
  EXPECT_EQ(mallinfo2().hblks, mapped_before) << "the block was mapped on its own";
  const auto heap_with_block = mallinfo2().arena;
  std::free(block);
  // Not trimmed: the pages stay in the process for the next step's tensors.
  EXPECT_EQ(mallinfo2().arena, heap_with_block);
}

TEST(HeapTuning, TheUsersMallocVariablesWin) {
  UnsetVariable a("MALLOC_MMAP_THRESHOLD_"), b("MALLOC_TRIM_THRESHOLD_"), c("MALLOC_TOP_PAD_");
  setenv("MALLOC_TOP_PAD_", "0", 1);
  EXPECT_FALSE(fi::keep_freed_memory_in_process());
}

#endif  // __GLIBC__
