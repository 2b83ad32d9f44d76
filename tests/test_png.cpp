#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/io/png.h"
#include "temp_dir.h"

namespace fs = std::filesystem;

namespace {

fi::Image random_image(int width, int height, int channels, unsigned seed) {
  fi::Image image(width, height, channels);
  std::mt19937 rng(seed);
  for (auto& value : image.pixels) value = std::uint8_t(rng() & 0xff);
  return image;
}

std::string temp_path(const std::string& name) {
  static const fi::testing::TempDir scratch("png");
  return scratch.file(name);
}

}  // namespace

TEST(Png, RoundTripIsExactForGrayRgbAndRgba) {
  for (int channels : {1, 3, 4}) {
    const fi::Image image = random_image(37, 23, channels, 7u + channels);
    const std::string path = temp_path("roundtrip_" + std::to_string(channels) + ".png");
    fi::write_png(path, image);
    const fi::Image back = fi::read_png(path);
    EXPECT_EQ(back.width, 37);
    EXPECT_EQ(back.height, 23);
    EXPECT_EQ(back.channels, channels);
    EXPECT_EQ(back.pixels, image.pixels) << "channels " << channels;
    fs::remove(path);
  }
}

TEST(Png, TextChunksAreStored) {
  const fi::Image image(4, 3, 3, 200);
  const std::map<std::string, std::string> text = {{"flowinone", "steps=100 solver=rk4"},
                                                   {"Software", "flowinone"}};
  const std::string bytes = fi::encode_png(image, text);
  EXPECT_NE(bytes.find("tEXt"), std::string::npos);
  EXPECT_NE(bytes.find("steps=100 solver=rk4"), std::string::npos);
  std::map<std::string, std::string> read_text;
  const fi::Image back = fi::decode_png(bytes, "memory", &read_text);
  EXPECT_EQ(read_text, text);
  EXPECT_EQ(back.pixels, image.pixels);
}

TEST(Png, TruncatedFileIsAFileError) {
  const std::string bytes = fi::encode_png(random_image(64, 64, 3, 1));
  const std::string path = temp_path("truncated.png");
  fi::write_file_atomic(path, bytes.substr(0, bytes.size() / 2));
  try {
    fi::read_png(path);
    FAIL() << "expected FileError";
  } catch (const fi::FileError& e) {
    EXPECT_NE(std::string(e.what()).find("[read_png]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  // Cut inside the signature and just after it.
  EXPECT_THROW(fi::decode_png(bytes.substr(0, 5), "short"), fi::FileError);
  EXPECT_THROW(fi::decode_png(bytes.substr(0, 12), "short"), fi::FileError);
  fs::remove(path);
}

TEST(Png, NonPngAndMissingFilesAreFileErrors) {
  const std::string path = temp_path("not_a_png.png");
  fi::write_file_atomic(path, "this is plain text, not an image at all");
  EXPECT_THROW(fi::read_png(path), fi::FileError);
  fs::remove(path);
  EXPECT_THROW(fi::read_png(temp_path("does_not_exist.png")), fi::FileError);
}

TEST(Png, CorruptedDataIsAFileError) {
  std::string bytes = fi::encode_png(random_image(32, 32, 4, 3));
  // Flip bytes inside the compressed data; the CRC or zlib check must catch it.
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] ^= 0x5a;
  EXPECT_THROW(fi::decode_png(bytes, "corrupt"), fi::FileError);
}

TEST(Png, OversizedDimensionsAreRejectedBeforeAllocating) {
  std::string bytes = fi::encode_png(fi::Image(2, 2, 1, 0));
  // IHDR data starts at byte 16: width then height, big-endian. Claim 100000 x 2; the CRC is
  // now wrong too, but either check must refuse the file.
  bytes[16] = 0;
  bytes[17] = 0x01;
  bytes[18] = char(0x86);
  bytes[19] = char(0xa0);
  EXPECT_THROW(fi::decode_png(bytes, "huge"), fi::FileError);
}

TEST(Png, BadImagesAreInvalidArguments) {
  fi::Image image(3, 3, 3);
  image.pixels.resize(5);
  EXPECT_THROW(fi::encode_png(image), std::invalid_argument);
  EXPECT_THROW(fi::encode_png(fi::Image(2, 2, 3), {{"", "empty key"}}), std::invalid_argument);
  EXPECT_THROW(fi::Image(0, 3, 3), std::invalid_argument);
}
