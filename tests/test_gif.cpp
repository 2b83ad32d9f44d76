#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "flowinone/core/atomic_file.h"
#include "flowinone/io/gif.h"
#include "temp_dir.h"

namespace {

// A minimal GIF reader for the files write_gif makes: global palette, full-size frames.
struct DecodedGif {
  int width = 0;
  int height = 0;
  int loop_count = -1;
  std::vector<std::uint8_t> palette;              // 256 * 3
  std::vector<int> delays;                        // per frame
  std::vector<std::vector<std::uint8_t>> frames;  // palette indices per frame
};

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  std::uint8_t byte() {
    if (pos_ >= bytes_.size()) throw std::runtime_error("gif truncated");
    return std::uint8_t(bytes_[pos_++]);
  }
  int u16() {
    const int low = byte();
    return low | (byte() << 8);
  }
  std::string take(std::size_t n) {
    if (pos_ + n > bytes_.size()) throw std::runtime_error("gif truncated");
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string sub_blocks() {
    std::string data;
    for (int size = byte(); size != 0; size = byte()) data += take(size);
    return data;
  }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  const std::string& bytes_;
  std::size_t pos_ = 0;
};

std::vector<std::uint8_t> lzw_decode(const std::string& data, int min_code_size,
                                     std::size_t num_pixels) {
  const int clear = 1 << min_code_size;
  const int end = clear + 1;
  std::vector<std::vector<std::uint8_t>> table;
  int width = min_code_size + 1;
  auto reset = [&] {
    table.assign(end + 1, {});
    for (int i = 0; i < clear; ++i) table[i] = {std::uint8_t(i)};
    width = min_code_size + 1;
  };
  reset();
  std::vector<std::uint8_t> out;
  std::size_t bit = 0;
  int previous = -1;
  while (true) {
    if (bit + width > data.size() * 8) throw std::runtime_error("lzw: out of data");
    int code = 0;
    for (int i = 0; i < width; ++i, ++bit) {
      code |= ((std::uint8_t(data[bit / 8]) >> (bit % 8)) & 1) << i;
    }
    if (code == clear) {
      reset();
      previous = -1;
      continue;
    }
    if (code == end) break;
    std::vector<std::uint8_t> entry;
    if (code < int(table.size()) && (code < clear || code > end)) {
      entry = table[code];
    } else if (code == int(table.size()) && previous >= 0) {
      entry = table[previous];
      entry.push_back(entry[0]);
    } else {
      throw std::runtime_error("lzw: bad code " + std::to_string(code));
    }
    if (previous >= 0 && table.size() < 4096) {
      std::vector<std::uint8_t> added = table[previous];
      added.push_back(entry[0]);
      table.push_back(added);
      if (table.size() == (std::size_t(1) << width) && width < 12) ++width;
    }
    out.insert(out.end(), entry.begin(), entry.end());
    previous = code;
  }
  if (out.size() != num_pixels) throw std::runtime_error("lzw: wrong pixel count");
  return out;
}

DecodedGif decode_gif(const std::string& bytes) {
  Reader in(bytes);
  DecodedGif gif;
  if (in.take(6) != "GIF89a") throw std::runtime_error("bad signature");
  gif.width = in.u16();
  gif.height = in.u16();
  const std::uint8_t packed = in.byte();
  if ((packed & 0x80) == 0 || (packed & 7) != 7) throw std::runtime_error("no 256-entry palette");
  in.byte();
  in.byte();
  const std::string table = in.take(768);
  gif.palette.assign(table.begin(), table.end());
  int pending_delay = -1;
  while (true) {
    const std::uint8_t kind = in.byte();
    if (kind == 0x3b) break;
    if (kind == 0x21) {
      const std::uint8_t label = in.byte();
      const std::string data = in.sub_blocks();
      if (label == 0xf9) {
        pending_delay = std::uint8_t(data[1]) | (std::uint8_t(data[2]) << 8);
      } else if (label == 0xff && data.substr(0, 11) == "NETSCAPE2.0") {
        gif.loop_count = std::uint8_t(data[12]) | (std::uint8_t(data[13]) << 8);
      }
    } else if (kind == 0x2c) {
      in.u16();
      in.u16();
      const int w = in.u16();
      const int h = in.u16();
      if (w != gif.width || h != gif.height || in.byte() != 0) {
        throw std::runtime_error("unexpected frame layout");
      }
      const int min_code_size = in.byte();
      gif.frames.push_back(lzw_decode(in.sub_blocks(), min_code_size, std::size_t(w) * h));
      gif.delays.push_back(pending_delay);
    } else {
      throw std::runtime_error("unknown block " + std::to_string(kind));
    }
  }
  if (!in.at_end()) throw std::runtime_error("bytes after the trailer");
  return gif;
}

fi::Image few_color_frame(int width, int height, int shift) {
  fi::Image image(width, height, 3);
  const std::uint8_t colors[5][3] = {
      {255, 255, 255}, {10, 20, 30}, {200, 0, 0}, {0, 180, 90}, {40, 40, 250}};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const int c = ((x + shift) / 3 + y / 5) % 5;
      std::copy(colors[c], colors[c] + 3, image.at(x, y));
    }
  }
  return image;
}

void expect_frame_equals(const DecodedGif& gif, std::size_t f, const fi::Image& image) {
  ASSERT_LT(f, gif.frames.size());
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const int index = gif.frames[f][std::size_t(y) * image.width + x];
      for (int c = 0; c < 3; ++c) {
        const int expected = image.at(x, y)[image.channels == 1 ? 0 : c];
        ASSERT_EQ(int(gif.palette[index * 3 + c]), expected)
            << "frame " << f << " at " << x << "," << y;
      }
    }
  }
}

}  // namespace

TEST(Gif, FewColorFramesRoundTripExactly) {
  std::vector<fi::Image> frames;
  for (int f = 0; f < 4; ++f) frames.push_back(few_color_frame(61, 47, f * 7));
  const DecodedGif gif = decode_gif(fi::encode_gif(frames, 12));
  EXPECT_EQ(gif.width, 61);
  EXPECT_EQ(gif.height, 47);
  EXPECT_EQ(gif.loop_count, 0);
  ASSERT_EQ(gif.frames.size(), 4u);
  for (std::size_t f = 0; f < frames.size(); ++f) {
    EXPECT_EQ(gif.delays[f], 12);
    expect_frame_equals(gif, f, frames[f]);
  }
}

TEST(Gif, LargeNoisyFrameExercisesTableResetsAndStaysExact) {
  // 256 gray levels in random order: the LZW table fills and is cleared many times.
  fi::Image image(300, 200, 1);
  std::mt19937 rng(5);
  for (auto& value : image.pixels) value = std::uint8_t(rng() & 0xff);
  const DecodedGif gif = decode_gif(fi::encode_gif({image}, 3));
  ASSERT_EQ(gif.frames.size(), 1u);
  expect_frame_equals(gif, 0, image);
}

TEST(Gif, ManyColorsAreQuantizedToNearbyColors) {
  fi::Image image(64, 64, 3);
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      std::uint8_t* p = image.at(x, y);
      p[0] = std::uint8_t(x * 4);
      p[1] = std::uint8_t(y * 4);
      p[2] = std::uint8_t((x + y) * 2);
    }
  }
  const DecodedGif gif = decode_gif(fi::encode_gif({image, image}));
  ASSERT_EQ(gif.frames.size(), 2u);
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      const int index = gif.frames[1][std::size_t(y) * 64 + x];
      for (int c = 0; c < 3; ++c) {
        EXPECT_LE(std::abs(int(gif.palette[index * 3 + c]) - int(image.at(x, y)[c])), 26);
      }
    }
  }
}

TEST(Gif, WritesAFileAtomically) {
  const fi::testing::TempDir scratch("gif");
  const std::string path = scratch.file("nested/flow.gif");
  const std::vector<fi::Image> frames = {few_color_frame(10, 10, 0), few_color_frame(10, 10, 1)};
  fi::write_gif(path, frames, 7);
  const std::string bytes = fi::read_file(path);
  EXPECT_EQ(bytes.substr(0, 6), "GIF89a");
  EXPECT_EQ(bytes.back(), char(0x3b));
  EXPECT_EQ(decode_gif(bytes).frames.size(), 2u);
}

TEST(Gif, BadFramesAreInvalidArguments) {
  EXPECT_THROW(fi::encode_gif({}), std::invalid_argument);
  EXPECT_THROW(fi::encode_gif({fi::Image(4, 4, 3), fi::Image(5, 4, 3)}), std::invalid_argument);
  EXPECT_THROW(fi::encode_gif({fi::Image(4, 4, 4)}), std::invalid_argument);
  EXPECT_THROW(fi::encode_gif({fi::Image(4, 4, 3)}, -1), std::invalid_argument);
}
