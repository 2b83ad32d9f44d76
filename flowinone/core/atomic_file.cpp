#include "flowinone/core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "flowinone/core/errors.h"

namespace fi {
namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, std::string_view bytes, const std::string& path) {
  const char* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw FileError(
          detail::concat("[write_file_atomic] ", path, ": write failed: ", errno_text()));
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

void fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // Best effort: some file systems do not allow opening directories.
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void ensure_directory(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code error;
  fs::create_directories(dir, error);
  check_file(fs::is_directory(dir), "[ensure_directory] cannot create directory ", dir,
             error ? ": " + error.message() : std::string());
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const fs::path target(path);
  const fs::path parent = target.parent_path();
  if (!parent.empty()) ensure_directory(parent.string());
  // A unique name per process and call, so concurrent writers never share a temp file.
  static std::atomic<unsigned> counter{0};
  const std::string temp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check_file(fd >= 0, "[write_file_atomic] cannot create ", temp, ": ", errno_text());
  try {
    write_all(fd, bytes, temp);
    check_file(::fsync(fd) == 0, "[write_file_atomic] fsync of ", temp, " failed: ", errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    std::string reason = errno_text();
    ::unlink(temp.c_str());
    throw FileError(
        detail::concat("[write_file_atomic] cannot rename ", temp, " to ", path, ": ", reason));
  }
  fsync_directory(parent);
}

std::string read_file(const std::string& path, std::uint64_t max_bytes) {
  std::error_code error;
  check_file(fs::exists(path, error), "[read_file] ", path, ": no such file");
  check_file(fs::is_regular_file(path, error), "[read_file] ", path, ": not a regular file");
  const std::uint64_t size = fs::file_size(path, error);
  check_file(!error, "[read_file] ", path, ": cannot get size: ", error.message());
  check_file(size <= max_bytes, "[read_file] ", path, ": size ", size, " exceeds the limit of ",
             max_bytes, " bytes");
  std::ifstream in(path, std::ios::binary);
  check_file(in.good(), "[read_file] ", path, ": cannot open");
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  check_file(static_cast<std::uint64_t>(in.gcount()) == size, "[read_file] ", path, ": short read");
  return bytes;
}

}  // namespace fi
