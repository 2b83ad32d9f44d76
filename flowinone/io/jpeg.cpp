// JPEG through libjpeg, in memory. libjpeg reports fatal errors through error_exit, which we
// turn into a longjmp back to the function that called setjmp; those functions construct every
// C++ object before setjmp and touch only plain C buffers after it, so a longjmp never skips a
// destructor (the same discipline as png.cpp).
#include "flowinone/io/jpeg.h"

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"

#ifdef FLOWINONE_HAVE_JPEG
// jpeglib.h needs size_t and FILE declared before it, so this order stays as it is.
// clang-format off
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <jpeglib.h>
#include <jerror.h>
// clang-format on
#endif

namespace fi {

bool looks_like_jpeg(const std::string& bytes) {
  return bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
         static_cast<unsigned char>(bytes[1]) == 0xD8 &&
         static_cast<unsigned char>(bytes[2]) == 0xFF;
}

#ifdef FLOWINONE_HAVE_JPEG

namespace {

constexpr JDIMENSION kMaxSide = 16384;
constexpr std::uint64_t kMaxPixels = std::uint64_t(1) << 28;
// Progressive files keep every coefficient in memory; this bounds what a crafted file can ask for.
constexpr long kMaxWorkingMemory = 1L << 30;

struct ErrorManager {
  jpeg_error_mgr base;  // first member: libjpeg hands us a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {0};
};

[[noreturn]] void fail(j_common_ptr cinfo) {
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, manager->message);
  std::longjmp(manager->jump, 1);
}

// Warnings are ignored except those that mean the data is cut short or corrupt: libjpeg would
// otherwise fill the rest of the picture with gray and report success.
void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC) fail(cinfo);
}

struct RawImage {
  JDIMENSION width = 0;
  JDIMENSION height = 0;
  int channels = 0;
  unsigned char* pixels = nullptr;  // malloc'd, freed by the caller
  const char* refusal = nullptr;    // a check of ours that failed, rather than libjpeg's
};

bool decode_core(jpeg_decompress_struct* cinfo, ErrorManager* errors, const std::string& bytes,
                 RawImage* raw) {
  if (setjmp(errors->jump)) return false;
  jpeg_create_decompress(cinfo);
  cinfo->mem->max_memory_to_use = kMaxWorkingMemory;
  jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(cinfo, TRUE);
  raw->width = cinfo->image_width;
  raw->height = cinfo->image_height;
  if (raw->width == 0 || raw->height == 0 || raw->width > kMaxSide || raw->height > kMaxSide ||
      std::uint64_t(raw->width) * raw->height > kMaxPixels) {
    raw->refusal = "image size is outside the limits (1..16384 per side, 2^28 pixels)";
    return false;
  }
  if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
    raw->refusal = "CMYK/YCCK JPEG is not supported; convert it to RGB";
    return false;
  }
  cinfo->out_color_space = cinfo->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(cinfo);
  raw->channels = cinfo->output_components;
  if ((raw->channels != 1 && raw->channels != 3) || cinfo->output_width != raw->width ||
      cinfo->output_height != raw->height) {
    raw->refusal = "unexpected output layout";
    return false;
  }
  const std::size_t row_bytes = std::size_t(raw->width) * raw->channels;
  raw->pixels = static_cast<unsigned char*>(std::malloc(row_bytes * raw->height));
  if (raw->pixels == nullptr) {
    raw->refusal = "out of memory";
    return false;
  }
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = raw->pixels + std::size_t(cinfo->output_scanline) * row_bytes;
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
      raw->refusal = "no progress while reading scanlines";
      return false;
    }
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

struct EncodeOutput {
  unsigned char* data = nullptr;  // malloc'd by libjpeg's memory destination
  unsigned long size = 0;
};

bool encode_core(jpeg_compress_struct* cinfo, ErrorManager* errors, const Image& image, int quality,
                 EncodeOutput* out) {
  if (setjmp(errors->jump)) return false;
  jpeg_create_compress(cinfo);
  jpeg_mem_dest(cinfo, &out->data, &out->size);
  cinfo->image_width = JDIMENSION(image.width);
  cinfo->image_height = JDIMENSION(image.height);
  cinfo->input_components = image.channels;
  cinfo->in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, quality, TRUE);
  jpeg_start_compress(cinfo, TRUE);
  const std::size_t row_bytes = std::size_t(image.width) * image.channels;
  while (cinfo->next_scanline < cinfo->image_height) {
    JSAMPROW row =
        const_cast<JSAMPROW>(image.pixels.data() + std::size_t(cinfo->next_scanline) * row_bytes);
    jpeg_write_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_compress(cinfo);
  return true;
}

}  // namespace

bool jpeg_supported() { return true; }

Image decode_jpeg(const std::string& bytes, const std::string& source) {
  check_file(looks_like_jpeg(bytes), "[read_jpeg] ", source, ": not a JPEG file (bad signature, ",
             bytes.size(), " bytes)");
  // jpeg_mem_src takes an unsigned long size; on LP64 that holds any std::string size.
  check_file(bytes.size() <= (std::size_t(1) << 32), "[read_jpeg] ", source, ": file too large");
  jpeg_decompress_struct cinfo;
  std::memset(&cinfo, 0, sizeof(cinfo));
  ErrorManager errors;
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = fail;
  errors.base.emit_message = on_message;
  RawImage raw;
  const bool ok = decode_core(&cinfo, &errors, bytes, &raw);

  std::string failure;
  Image image;
  if (ok) {
    try {
      image.width = int(raw.width);
      image.height = int(raw.height);
      image.channels = raw.channels;
      image.pixels.assign(raw.pixels,
                          raw.pixels + std::size_t(raw.width) * raw.height * raw.channels);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  } else if (raw.refusal != nullptr) {
    failure = raw.refusal;
    if (raw.width > 0 || raw.height > 0) {
      failure += " (" + std::to_string(raw.width) + "x" + std::to_string(raw.height) + ")";
    }
  } else {
    failure = errors.message[0] != '\0' ? errors.message : "libjpeg failed";
  }
  std::free(raw.pixels);
  jpeg_destroy_decompress(&cinfo);
  check_file(failure.empty(), "[read_jpeg] ", source, ": ", failure);
  return image;
}

std::string encode_jpeg(const Image& image, int quality) {
  check_arg(image.width > 0 && image.height > 0 && image.width <= int(kMaxSide) &&
                image.height <= int(kMaxSide),
            "[encode_jpeg] image size must be 1..", kMaxSide, " per side, got ", image.width, "x",
            image.height);
  check_arg(image.channels == 1 || image.channels == 3,
            "[encode_jpeg] channels must be 1 or 3, got ", image.channels);
  check_arg(image.pixels.size() == std::size_t(image.width) * image.height * image.channels,
            "[encode_jpeg] pixel buffer holds ", image.pixels.size(), " bytes, expected ",
            std::size_t(image.width) * image.height * image.channels);
  check_arg(quality >= 1 && quality <= 100, "[encode_jpeg] quality must be in 1..100, got ",
            quality);
  jpeg_compress_struct cinfo;
  std::memset(&cinfo, 0, sizeof(cinfo));
  ErrorManager errors;
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = fail;
  errors.base.emit_message = on_message;
  EncodeOutput out;
  const bool ok = encode_core(&cinfo, &errors, image, quality, &out);
  std::string bytes;
  std::string failure = ok ? "" : errors.message;
  if (ok) {
    try {
      bytes.assign(reinterpret_cast<const char*>(out.data), out.size);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  jpeg_destroy_compress(&cinfo);
  std::free(out.data);
  check_file(failure.empty(), "[encode_jpeg] libjpeg failed: ", failure);
  return bytes;
}

#else  // no libjpeg in this build

namespace {
[[noreturn]] void no_jpeg(const std::string& op, const std::string& source) {
  throw FileError("[" + op + "] " + source +
                  ": this build cannot read or write JPEG (libjpeg was not found when it was "
                  "configured); install libjpeg-dev and rebuild, or convert the file to PNG");
}
}  // namespace

bool jpeg_supported() { return false; }

Image decode_jpeg(const std::string&, const std::string& source) { no_jpeg("read_jpeg", source); }

std::string encode_jpeg(const Image&, int) { no_jpeg("encode_jpeg", "image"); }

#endif

Image read_jpeg(const std::string& path) {
  if (!jpeg_supported()) return decode_jpeg({}, path);
  return decode_jpeg(read_file(path, std::uint64_t(1) << 32), path);
}

void write_jpeg(const std::string& path, const Image& image, int quality) {
  write_file_atomic(path, encode_jpeg(image, quality));
}

}  // namespace fi
