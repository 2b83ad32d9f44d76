// PNG through libpng, in memory. libpng reports errors by longjmp; the functions that call
// setjmp construct every C++ object before it, so a longjmp never skips a destructor, and the
// callbacks catch C++ exceptions before they could cross libpng's C frames.
#include "flowinone/io/png.h"

#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/printable.h"

namespace fi {
namespace {

constexpr png_uint_32 kMaxSide = 16384;
constexpr std::uint64_t kDeflateMaxRatio = 1032;

// The chunk list, walked before libpng sees it: libpng allocates a chunk's claimed length before
// reading its data, so a 60-byte file claiming a 700 MB text chunk would cost 700 MB.
struct ChunkScan {
  std::uint64_t idat_bytes = 0;  // total length of the IDAT chunks
  std::string error;             // the first chunk that runs past the end, if any
};

ChunkScan scan_chunks(const std::string& bytes) {
  ChunkScan scan;
  std::size_t at = 8;
  while (at < bytes.size()) {
    if (bytes.size() - at < 12) {
      scan.error = "file is truncated inside the chunk header at byte " + std::to_string(at);
      break;
    }
    std::uint64_t length = 0;
    for (std::size_t i = 0; i < 4; ++i) length = (length << 8) | std::uint8_t(bytes[at + i]);
    const std::string type = bytes.substr(at + 4, 4);
    if (length > bytes.size() - at - 12) {
      scan.error = "file is truncated: chunk '" + printable(type) + "' at byte " +
                   std::to_string(at) + " claims " + std::to_string(length) + " bytes, " +
                   std::to_string(bytes.size() - at - 12) + " remain";
      break;
    }
    if (type == "IDAT") scan.idat_bytes += length;
    at += 12 + std::size_t(length);
    if (type == "IEND") break;
  }
  return scan;
}

struct ErrorState {
  char message[256] = {0};
};

void record_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<ErrorState*>(png_get_error_ptr(png));
  if (state != nullptr) std::snprintf(state->message, sizeof(state->message), "%s", message);
  png_longjmp(png, 1);
}

void ignore_warning(png_structp, png_const_charp) {}

// ---- writing ----

struct WriteState {
  ErrorState error;
  std::string* out = nullptr;
  bool out_of_memory = false;
};

void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<WriteState*>(png_get_io_ptr(png));
  try {
    state->out->append(reinterpret_cast<const char*>(data), length);
  } catch (...) {
    state->out_of_memory = true;
  }
  if (state->out_of_memory) png_error(png, "out of memory while encoding");
}

void flush_nothing(png_structp) {}

void check_image(const Image& image, const char* op) {
  check_arg(image.width > 0 && image.height > 0, "[", op, "] image size must be positive, got ",
            image.width, "x", image.height);
  check_arg(image.channels == 1 || image.channels == 3 || image.channels == 4, "[", op,
            "] channels must be 1, 3 or 4, got ", image.channels);
  check_arg(image.pixels.size() == std::size_t(image.width) * image.height * image.channels, "[",
            op, "] pixel buffer holds ", image.pixels.size(), " bytes, expected ",
            std::size_t(image.width) * image.height * image.channels);
  check_arg(image.width <= int(kMaxSide) && image.height <= int(kMaxSide), "[", op, "] image size ",
            image.width, "x", image.height, " exceeds ", kMaxSide, " per side");
}

// Returns false (with state.error.message set) when libpng fails.
bool encode_core(png_structp png, png_infop info, const Image& image, std::vector<png_text>& texts,
                 std::vector<png_bytep>& rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  const int color_type = image.channels == 1   ? PNG_COLOR_TYPE_GRAY
                         : image.channels == 3 ? PNG_COLOR_TYPE_RGB
                                               : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height), 8, color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!texts.empty()) png_set_text(png, info, texts.data(), int(texts.size()));
  png_write_info(png, info);
  png_write_image(png, rows.data());
  png_write_end(png, info);
  return true;
}

// ---- reading ----

struct ReadState {
  ErrorState error;
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  std::size_t position = 0;
};

void read_bytes(png_structp png, png_bytep out, png_size_t length) {
  auto* state = static_cast<ReadState*>(png_get_io_ptr(png));
  if (length > state->size - state->position) png_error(png, "file is truncated");
  std::memcpy(out, state->data + state->position, length);
  state->position += length;
}

// Decoded pixels in malloc'd plain buffers, freed by the caller whatever happens.
struct RawImage {
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int channels = 0;
  unsigned char* pixels = nullptr;
  png_bytep* rows = nullptr;
  bool too_large = false;
  bool out_of_memory = false;
  std::uint64_t idat_bytes = 0;  // compressed pixel bytes in the file (IDAT chunks)
  bool too_little_data = false;  // fewer than the claimed size can inflate to
};

bool decode_core(png_structp png, png_infop info, RawImage* raw) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_user_limits(png, kMaxSide, kMaxSide);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  raw->width = png_get_image_width(png, info);
  raw->height = png_get_image_height(png, info);
  if (raw->width == 0 || raw->height == 0 || raw->width > kMaxSide || raw->height > kMaxSide) {
    raw->too_large = true;
    return false;
  }
  // A 60-byte file may claim 16384x16384 pixels; deflate expands at most 1032 times, so compressed
  // data that cannot hold the claimed pixels is refused before a gigabyte is allocated for them.
  const std::uint64_t packed_bytes =
      (std::uint64_t(raw->width) * raw->height * png_get_bit_depth(png, info) *
           png_get_channels(png, info) +
       7) /
      8;
  if (packed_bytes > (raw->idat_bytes + 1) * kDeflateMaxRatio) {
    raw->too_little_data = true;
    return false;
  }
  const int color_type = png_get_color_type(png, info);
  const bool has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  png_set_expand(png);  // palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha
  png_set_strip_16(png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0 &&
      ((color_type & PNG_COLOR_MASK_ALPHA) != 0 || has_trns)) {
    png_set_gray_to_rgb(png);  // gray + alpha has no Image layout: widen to RGBA
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  raw->channels = png_get_channels(png, info);
  if (raw->channels != 1 && raw->channels != 3 && raw->channels != 4) {
    png_error(png, "unsupported channel layout after conversion");
  }
  const std::size_t row_bytes = std::size_t(raw->width) * raw->channels;
  if (png_get_rowbytes(png, info) != row_bytes) png_error(png, "unexpected row size");
  raw->pixels = static_cast<unsigned char*>(std::malloc(row_bytes * raw->height));
  raw->rows = static_cast<png_bytep*>(std::malloc(sizeof(png_bytep) * raw->height));
  if (raw->pixels == nullptr || raw->rows == nullptr) {
    raw->out_of_memory = true;
    return false;
  }
  for (png_uint_32 y = 0; y < raw->height; ++y) raw->rows[y] = raw->pixels + y * row_bytes;
  png_read_image(png, raw->rows);
  png_read_end(png, info);
  return true;
}

}  // namespace

std::string encode_png(const Image& image, const std::map<std::string, std::string>& text) {
  check_image(image, "encode_png");
  for (const auto& [key, value] : text) {
    check_arg(!key.empty() && key.size() <= 79, "[encode_png] text key '", key,
              "' must have 1 to 79 characters");
    check_arg(key.find('\0') == std::string::npos && value.find('\0') == std::string::npos,
              "[encode_png] text entry '", key, "' contains a NUL byte");
  }
  // Everything with a destructor lives here, before setjmp in encode_core.
  std::string out;
  WriteState state;
  state.out = &out;
  std::vector<png_text> texts;
  for (const auto& [key, value] : text) {
    png_text entry;
    std::memset(&entry, 0, sizeof(entry));
    entry.compression = PNG_TEXT_COMPRESSION_NONE;
    entry.key = const_cast<char*>(key.c_str());
    entry.text = const_cast<char*>(value.c_str());
    entry.text_length = value.size();
    texts.push_back(entry);
  }
  std::vector<png_bytep> rows(std::size_t(image.height));
  const std::size_t row_bytes = std::size_t(image.width) * image.channels;
  for (int y = 0; y < image.height; ++y) {
    rows[y] = const_cast<png_bytep>(image.pixels.data() + y * row_bytes);
  }

  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, &state.error, record_error, ignore_warning);
  check_file(png != nullptr, "[encode_png] cannot create the libpng writer");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    throw FileError("[encode_png] cannot create the libpng info struct");
  }
  png_set_write_fn(png, &state, append_bytes, flush_nothing);
  const bool ok = encode_core(png, info, image, texts, rows);
  png_destroy_write_struct(&png, &info);
  check_file(ok, "[encode_png] libpng failed: ", state.error.message);
  return out;
}

void write_png(const std::string& path, const Image& image,
               const std::map<std::string, std::string>& text) {
  const std::string bytes = encode_png(image, text);
  write_file_atomic(path, bytes);
}

Image decode_png(const std::string& bytes, const std::string& source,
                 std::map<std::string, std::string>* text) {
  check_file(
      bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0,
      "[read_png] ", source, ": not a PNG file (bad signature, ", bytes.size(), " bytes)");
  ReadState state;
  state.data = reinterpret_cast<const unsigned char*>(bytes.data());
  state.size = bytes.size();
  state.position = 8;
  const ChunkScan scan = scan_chunks(bytes);
  check_file(scan.error.empty(), "[read_png] ", source, ": ", scan.error);
  RawImage raw;
  raw.idat_bytes = scan.idat_bytes;

  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &state.error, record_error, ignore_warning);
  check_file(png != nullptr, "[read_png] ", source, ": cannot create the libpng reader");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw FileError("[read_png] " + source + ": cannot create the libpng info struct");
  }
  png_set_read_fn(png, &state, read_bytes);
  // libpng allocates a chunk's claimed length before reading it, and inflates zTXt/iCCP chunks up
  // to this limit: bound both by what the bytes can hold (deflate's ratio) and by 8 MiB.
  png_set_chunk_malloc_max(
      png, png_alloc_size_t(std::min<std::uint64_t>(8u << 20, kDeflateMaxRatio * bytes.size())));
  const bool ok = decode_core(png, info, &raw);

  Image image;
  std::string failure;
  if (ok) {
    try {
      image.width = int(raw.width);
      image.height = int(raw.height);
      image.channels = raw.channels;
      image.pixels.assign(raw.pixels,
                          raw.pixels + std::size_t(raw.width) * raw.height * raw.channels);
      if (text != nullptr) {
        text->clear();
        png_textp entries = nullptr;
        const int count = png_get_text(png, info, &entries, nullptr);
        for (int i = 0; i < count; ++i) {
          (*text)[entries[i].key] = std::string(entries[i].text, entries[i].text_length);
        }
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
  } else if (raw.too_large) {
    failure = "image size " + std::to_string(raw.width) + "x" + std::to_string(raw.height) +
              " is outside 1.." + std::to_string(kMaxSide) + " per side";
  } else if (raw.too_little_data) {
    failure = "its " + std::to_string(raw.idat_bytes) +
              " bytes of compressed pixels cannot hold the " + std::to_string(raw.width) + "x" +
              std::to_string(raw.height) + " picture it claims (deflate expands at most " +
              std::to_string(kDeflateMaxRatio) + " times)";
  } else if (raw.out_of_memory) {
    failure = "out of memory";
  } else {
    failure = state.error.message;
  }
  std::free(raw.pixels);
  std::free(raw.rows);
  png_destroy_read_struct(&png, &info, nullptr);
  check_file(failure.empty(), "[read_png] ", source, ": ", printable(failure, 300));
  return image;
}

Image read_png(const std::string& path) {
  return decode_png(read_file(path, std::uint64_t(1) << 32), path);
}

namespace {

constexpr std::size_t kHeaderBytes = 33;  // signature 8, IHDR length 4, type 4, data 13, CRC 4

std::uint32_t big_endian32(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value = (value << 8) | std::uint8_t(bytes[at + i]);
  return value;
}

}  // namespace

PngHeader decode_png_header(const std::string& bytes, const std::string& source) {
  const std::string where = "[read_png_header] " + source + ": ";
  check_file(
      bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0,
      where, "not a PNG file (bad signature, ", bytes.size(), " bytes)");
  check_file(bytes.size() >= kHeaderBytes, where, "file is truncated (", bytes.size(),
             " bytes, the header needs ", kHeaderBytes, ")");
  check_file(big_endian32(bytes, 8) == 13 && bytes.compare(12, 4, "IHDR") == 0, where,
             "the first chunk is not a 13-byte IHDR");
  const std::uint32_t crc =
      std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + 12), 4 + 13));
  check_file(crc == big_endian32(bytes, 29), where, "IHDR's CRC does not match its bytes");
  PngHeader header;
  header.width = big_endian32(bytes, 16);
  header.height = big_endian32(bytes, 20);
  header.bit_depth = std::uint8_t(bytes[24]);
  header.color_type = std::uint8_t(bytes[25]);
  constexpr std::uint32_t kLargest = 0x7fffffffu;  // the PNG specification's limit
  check_file(header.width >= 1 && header.width <= kLargest && header.height >= 1 &&
                 header.height <= kLargest,
             where, "image size ", header.width, "x", header.height, " is outside 1..", kLargest,
             " per side");
  // The depths each color type allows (PNG specification, table 11.1).
  const int depth = header.bit_depth;
  const bool valid =
      (header.color_type == 0 &&
       (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)) ||
      (header.color_type == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8)) ||
      ((header.color_type == 2 || header.color_type == 4 || header.color_type == 6) &&
       (depth == 8 || depth == 16));
  check_file(valid, where, "color type ", header.color_type, " with bit depth ", depth,
             " is not a valid PNG combination");
  return header;
}

PngHeader read_png_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check_file(in.good(), "[read_png_header] ", path, ": cannot open the file");
  std::string bytes(kHeaderBytes, '\0');
  in.read(bytes.data(), std::streamsize(bytes.size()));
  bytes.resize(std::size_t(in.gcount()));
  return decode_png_header(bytes, path);
}

}  // namespace fi
