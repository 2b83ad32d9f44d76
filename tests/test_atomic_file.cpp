#include <gtest/gtest.h>

#include <filesystem>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "temp_dir.h"

namespace fs = std::filesystem;

TEST(AtomicFile, WritesAndReadsBackAndLeavesNoTemporaries) {
  const fi::testing::TempDir scratch("atomic");
  const fs::path dir = fs::path(scratch.path()) / "nested";
  const std::string path = (dir / "file.bin").string();
  fi::write_file_atomic(path, std::string("first"));
  fi::write_file_atomic(path, std::string("second\0bytes", 12));
  EXPECT_EQ(fi::read_file(path), std::string("second\0bytes", 12));
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(AtomicFile, ReadRejectsMissingAndOversizedFiles) {
  EXPECT_THROW(fi::read_file("/nonexistent/fi/file"), fi::FileError);
  const fi::testing::TempDir scratch("atomic");
  const std::string path = scratch.file("big.bin");
  fi::write_file_atomic(path, std::string(100, 'x'));
  EXPECT_THROW(fi::read_file(path, 10), fi::FileError);
}

TEST(AtomicFile, UnwritableDirectoryIsAFileError) {
  EXPECT_THROW(fi::write_file_atomic("/proc/fi_cannot_write_here/x", "y"), fi::FileError);
}
