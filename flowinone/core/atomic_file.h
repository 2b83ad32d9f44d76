// Atomic file writes: a reader sees the old file or the new one, never a half-written one.
//
// The bytes go to a temporary file in the same directory, which is flushed to disk (fsync),
// renamed over the target, and the directory is fsynced so the rename survives a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fi {

/// Writes `bytes` to `path` atomically; creates missing parent directories. Throws FileError.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Reads a whole file; throws FileError naming the path when it cannot be read.
/// Refuses files larger than `max_bytes` before reading them.
std::string read_file(const std::string& path, std::uint64_t max_bytes = (1ull << 34));

/// Creates `dir` and its parents if missing; throws FileError when it is not a directory.
void ensure_directory(const std::string& dir);

}  // namespace fi
