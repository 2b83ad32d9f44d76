// IDX reading through zlib's gz* functions (transparent for uncompressed files).
#include "flowinone/data/idx_file.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "flowinone/core/errors.h"

namespace fi {
namespace {

constexpr int kMaxDims = 8;
// Deflate cannot expand its input more than 1032:1; a gzip file claiming more is lying.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

bool idx_element(int code, IdxHeader* header) {
  switch (code) {
    case 0x08:
    case 0x09:
      header->element_size = 1;
      break;
    case 0x0B:
      header->element_size = 2;
      break;
    case 0x0C:
    case 0x0D:
      header->element_size = 4;
      break;
    case 0x0E:
      header->element_size = 8;
      break;
    default:
      return false;
  }
  header->element = IdxElement(code);
  return true;
}

// Closes the gz handle on every path out, exceptions included.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : file_(gzopen(path.c_str(), "rb")) {}
  ~GzFile() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  gzFile get() const { return file_; }

  // Reads up to `size` bytes; returns how many were read, or -1 on a zlib error (message set).
  std::int64_t read(void* out, std::uint64_t size, std::string* message) {
    auto* bytes = static_cast<unsigned char*>(out);
    std::uint64_t done = 0;
    while (done < size) {
      // gzread takes an unsigned count but returns an int: read in chunks below INT_MAX.
      const unsigned chunk = unsigned(std::min<std::uint64_t>(size - done, 1u << 30));
      const int got = gzread(file_, bytes + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* text = gzerror(file_, &code);
        *message = text != nullptr ? text : "zlib error";
        return -1;
      }
      if (got == 0) break;
      done += std::uint64_t(got);
    }
    return std::int64_t(done);
  }

 private:
  gzFile file_;
};

std::uint32_t big_endian_u32(const unsigned char* bytes) {
  return (std::uint32_t(bytes[0]) << 24) | (std::uint32_t(bytes[1]) << 16) |
         (std::uint32_t(bytes[2]) << 8) | std::uint32_t(bytes[3]);
}

bool starts_with_gzip_magic(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  unsigned char magic[2] = {0, 0};
  const std::size_t got = std::fread(magic, 1, 2, file);
  std::fclose(file);
  return got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

}  // namespace

IdxHeader read_idx_file(const std::string& path, std::int64_t max_elements,
                        const std::function<unsigned char*(const IdxHeader&)>& allocate) {
  check_arg(max_elements > 0, "[read_idx] max_elements must be positive, got ", max_elements);
  std::error_code error;
  check_file(std::filesystem::is_regular_file(path, error), "[read_idx] ", path,
             ": no such file (or not a regular file)");
  const std::uint64_t file_size = std::filesystem::file_size(path, error);
  check_file(!error, "[read_idx] ", path, ": cannot get its size: ", error.message());
  const bool gzipped = starts_with_gzip_magic(path);

  GzFile file(path);
  check_file(file.get() != nullptr, "[read_idx] ", path, ": cannot open");
  std::string zlib_message;
  unsigned char magic[4];
  const std::int64_t magic_read = file.read(magic, 4, &zlib_message);
  check_file(magic_read >= 0, "[read_idx] ", path, ": ", zlib_message);
  check_file(magic_read == 4, "[read_idx] ", path, ": truncated header (", magic_read,
             " bytes, expected at least 4)");
  check_file(magic[0] == 0 && magic[1] == 0, "[read_idx] ", path, ": not an IDX file (magic bytes ",
             int(magic[0]), " ", int(magic[1]), ", expected 0 0)");
  IdxHeader header;
  check_file(idx_element(magic[2], &header), "[read_idx] ", path, ": unsupported element type 0x",
             std::hex, int(magic[2]), std::dec, " (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
  const int num_dims = magic[3];
  check_file(num_dims >= 1 && num_dims <= kMaxDims, "[read_idx] ", path, ": ", num_dims,
             " dimensions, expected 1 to ", kMaxDims);

  unsigned char dim_bytes[4 * kMaxDims];
  const std::int64_t dims_read = file.read(dim_bytes, 4 * std::uint64_t(num_dims), &zlib_message);
  check_file(dims_read >= 0, "[read_idx] ", path, ": ", zlib_message);
  check_file(dims_read == 4 * num_dims, "[read_idx] ", path, ": truncated header (", num_dims,
             " dimensions declared)");
  std::vector<std::int64_t>& shape = header.shape;
  shape.resize(num_dims);
  std::int64_t& num_elements = header.num_elements;
  num_elements = 1;
  for (int d = 0; d < num_dims; ++d) {
    const std::uint32_t size = big_endian_u32(dim_bytes + 4 * d);
    shape[d] = std::int64_t(size);
    // Each size < 2^32 and the running product <= max_elements < 2^63 / 2^32, so no overflow.
    check_file(size <= std::uint64_t(max_elements) &&
                   (size == 0 || num_elements <= max_elements / std::int64_t(size)),
               "[read_idx] ", path, ": dimension ", d, " of size ", size,
               " makes the element count exceed the limit of ", max_elements);
    num_elements *= std::int64_t(size);
  }
  const std::uint64_t header_bytes = 4 + 4 * std::uint64_t(num_dims);
  const std::uint64_t body_bytes = std::uint64_t(num_elements) * header.element_size;
  if (gzipped) {
    check_file(body_bytes <= file_size * kMaxDeflateRatio, "[read_idx] ", path, ": declares ",
               body_bytes, " bytes of data, more than a ", file_size, "-byte gzip file can hold");
  } else {
    check_file(header_bytes + body_bytes <= file_size, "[read_idx] ", path,
               ": truncated data (declares ", body_bytes, " bytes after the header, the file has ",
               file_size - std::min(file_size, header_bytes), ")");
  }

  unsigned char* data = allocate(header);
  const std::int64_t body_read = file.read(data, body_bytes, &zlib_message);
  check_file(body_read >= 0, "[read_idx] ", path, ": ", zlib_message);
  check_file(std::uint64_t(body_read) == body_bytes, "[read_idx] ", path, ": truncated data (",
             body_read, " of ", body_bytes, " bytes)");
  unsigned char extra;
  const std::int64_t extra_read = file.read(&extra, 1, &zlib_message);
  check_file(extra_read == 0, "[read_idx] ", path,
             extra_read < 0 ? ": " + zlib_message : ": trailing bytes after the declared data");

  // IDX is big-endian; swap wider elements in place on little-endian hosts.
  const bool little_endian_host = [] {
    const std::uint16_t probe = 1;
    unsigned char first;
    std::memcpy(&first, &probe, 1);
    return first == 1;
  }();
  if (little_endian_host && header.element_size > 1) {
    const int width = header.element_size;
    for (std::uint64_t i = 0; i < body_bytes; i += width) std::reverse(data + i, data + i + width);
  }
  return header;
}

}  // namespace fi
