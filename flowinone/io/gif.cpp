// GIF89a writer: one global 256-color palette, a NETSCAPE2.0 loop block, and per frame a
// graphic control extension (the delay) followed by an LZW-compressed image with 8-bit codes.
// It does not do local palettes, transparency, dithering or frame differencing.
#include "flowinone/io/gif.h"

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"

namespace fi {
namespace {

constexpr int kMinCodeSize = 8;
constexpr int kClearCode = 1 << kMinCodeSize;
constexpr int kEndCode = kClearCode + 1;
constexpr int kMaxCodes = 4096;

void put_u16(std::string& out, int value) {
  out.push_back(char(value & 0xff));
  out.push_back(char((value >> 8) & 0xff));
}

std::uint32_t rgb_at(const Image& image, std::size_t pixel) {
  const std::uint8_t* p = image.pixels.data() + pixel * image.channels;
  if (image.channels == 1) return std::uint32_t(p[0]) * 0x010101u;
  return (std::uint32_t(p[0]) << 16) | (std::uint32_t(p[1]) << 8) | p[2];
}

// Maps RGB colors to palette indices: exact when few colors are used, else a 6x7x6 cube.
class Palette {
 public:
  explicit Palette(const std::vector<Image>& frames) {
    for (const Image& frame : frames) {
      const std::size_t count = std::size_t(frame.width) * frame.height;
      for (std::size_t i = 0; i < count && exact_; ++i) {
        const std::uint32_t rgb = rgb_at(frame, i);
        if (index_.count(rgb) != 0) continue;
        if (index_.size() == 256) {
          exact_ = false;
          break;
        }
        const std::size_t slot = index_.size();
        index_.emplace(rgb, std::uint8_t(slot));
        colors_[slot] = rgb;
      }
      if (!exact_) break;
    }
    if (!exact_) {
      index_.clear();
      for (int r = 0; r < 6; ++r) {
        for (int g = 0; g < 7; ++g) {
          for (int b = 0; b < 6; ++b) {
            colors_[(r * 7 + g) * 6 + b] = (std::uint32_t((r * 255 + 2) / 5) << 16) |
                                           (std::uint32_t((g * 255 + 3) / 6) << 8) |
                                           std::uint32_t((b * 255 + 2) / 5);
          }
        }
      }
    }
  }

  std::uint8_t index_of(std::uint32_t rgb) const {
    if (exact_) return index_.at(rgb);
    // The cube is a separable grid, so the nearest entry is the nearest level per channel.
    const int r = ((rgb >> 16) & 0xff) * 5 + 127;
    const int g = ((rgb >> 8) & 0xff) * 6 + 127;
    const int b = (rgb & 0xff) * 5 + 127;
    return std::uint8_t(((r / 255) * 7 + g / 255) * 6 + b / 255);
  }

  void write_table(std::string& out) const {
    for (std::uint32_t rgb : colors_) {
      out.push_back(char((rgb >> 16) & 0xff));
      out.push_back(char((rgb >> 8) & 0xff));
      out.push_back(char(rgb & 0xff));
    }
  }

 private:
  bool exact_ = true;
  std::unordered_map<std::uint32_t, std::uint8_t> index_;
  std::array<std::uint32_t, 256> colors_{};
};

// Packs variable-width codes LSB first into 255-byte data sub-blocks.
class CodeWriter {
 public:
  explicit CodeWriter(std::string& out) : out_(out) {}

  void put(int code, int width) {
    bits_ |= std::uint32_t(code) << num_bits_;
    num_bits_ += width;
    while (num_bits_ >= 8) {
      put_byte(std::uint8_t(bits_ & 0xff));
      bits_ >>= 8;
      num_bits_ -= 8;
    }
  }

  void finish() {
    if (num_bits_ > 0) put_byte(std::uint8_t(bits_ & 0xff));
    flush_block();
    out_.push_back('\0');  // block terminator
  }

 private:
  void put_byte(std::uint8_t byte) {
    block_[block_size_++] = byte;
    if (block_size_ == 255) flush_block();
  }
  void flush_block() {
    if (block_size_ == 0) return;
    out_.push_back(char(block_size_));
    out_.append(reinterpret_cast<const char*>(block_.data()), block_size_);
    block_size_ = 0;
  }

  std::string& out_;
  std::uint32_t bits_ = 0;
  int num_bits_ = 0;
  std::array<std::uint8_t, 255> block_{};
  int block_size_ = 0;
};

// LZW as GIF decoders expect it: the code width grows once the next free code no longer fits,
// and a clear code restarts the table when all 4096 codes are taken.
void write_lzw(std::string& out, const std::vector<std::uint8_t>& indices) {
  out.push_back(char(kMinCodeSize));
  CodeWriter writer(out);
  std::unordered_map<std::uint32_t, int> table;  // (prefix code << 8 | next index) -> code
  table.reserve(kMaxCodes * 2);
  int width = kMinCodeSize + 1;
  int next_code = kEndCode + 1;
  writer.put(kClearCode, width);
  int prefix = indices[0];
  for (std::size_t i = 1; i < indices.size(); ++i) {
    const std::uint32_t key = (std::uint32_t(prefix) << 8) | indices[i];
    const auto found = table.find(key);
    if (found != table.end()) {
      prefix = found->second;
      continue;
    }
    writer.put(prefix, width);
    if (next_code >= (1 << width) && width < 12) ++width;
    if (next_code < kMaxCodes) {
      table.emplace(key, next_code++);
    } else {
      writer.put(kClearCode, width);
      table.clear();
      width = kMinCodeSize + 1;
      next_code = kEndCode + 1;
    }
    prefix = indices[i];
  }
  writer.put(prefix, width);
  if (next_code >= (1 << width) && width < 12) ++width;
  writer.put(kEndCode, width);
  writer.finish();
}

}  // namespace

std::string encode_gif(const std::vector<Image>& frames, int delay_centiseconds) {
  check_arg(!frames.empty(), "[write_gif] no frames to write");
  check_arg(delay_centiseconds >= 0 && delay_centiseconds <= 65535,
            "[write_gif] delay must be in [0, 65535] centiseconds, got ", delay_centiseconds);
  const Image& first = frames.front();
  check_arg(first.width > 0 && first.height > 0 && first.width <= 65535 && first.height <= 65535,
            "[write_gif] frame size must be in 1..65535, got ", first.width, "x", first.height);
  for (std::size_t f = 0; f < frames.size(); ++f) {
    const Image& frame = frames[f];
    check_arg(frame.width == first.width && frame.height == first.height, "[write_gif] frame ", f,
              " is ", frame.width, "x", frame.height, ", expected ", first.width, "x",
              first.height);
    check_arg(frame.channels == 1 || frame.channels == 3, "[write_gif] frame ", f, " has ",
              frame.channels, " channels, expected 1 (gray) or 3 (RGB)");
    check_arg(frame.pixels.size() == std::size_t(frame.width) * frame.height * frame.channels,
              "[write_gif] frame ", f, " holds ", frame.pixels.size(), " bytes, expected ",
              std::size_t(frame.width) * frame.height * frame.channels);
  }
  const Palette palette(frames);

  std::string out = "GIF89a";
  put_u16(out, first.width);
  put_u16(out, first.height);
  out.push_back(char(0xf7));  // global table of 2^(7+1) entries, 8 bits per primary
  out.push_back('\0');        // background color index
  out.push_back('\0');        // square pixels
  palette.write_table(out);
  out += "\x21\xff\x0bNETSCAPE2.0\x03\x01";  // application extension: loop forever
  put_u16(out, 0);
  out.push_back('\0');

  const std::size_t count = std::size_t(first.width) * first.height;
  std::vector<std::uint8_t> indices(count);
  for (const Image& frame : frames) {
    out += "\x21\xf9\x04";
    out.push_back(char(1 << 2));  // disposal: leave the frame in place; no transparency
    put_u16(out, delay_centiseconds);
    out.push_back('\0');
    out.push_back('\0');
    out.push_back(char(0x2c));  // image descriptor, full canvas, no local table
    put_u16(out, 0);
    put_u16(out, 0);
    put_u16(out, frame.width);
    put_u16(out, frame.height);
    out.push_back('\0');
    for (std::size_t i = 0; i < count; ++i) indices[i] = palette.index_of(rgb_at(frame, i));
    write_lzw(out, indices);
  }
  out.push_back(char(0x3b));  // trailer
  return out;
}

void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_centiseconds) {
  write_file_atomic(path, encode_gif(frames, delay_centiseconds));
}

}  // namespace fi
