#include <gtest/gtest.h>
#include <zlib.h>

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

namespace {

// A valid 32x32 gray PNG whose IHDR is rewritten to claim width x height, with a matching CRC.
std::string png_claiming(std::uint32_t width, std::uint32_t height) {
  std::string bytes = fi::encode_png(fi::Image(32, 32, 1, 0));
  auto put32 = [&](std::size_t at, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = char((value >> (24 - 8 * i)) & 0xff);
  };
  put32(16, width);
  put32(20, height);
  put32(29, std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + 12), 17)));
  return bytes;
}

}  // namespace

TEST(Png, HeaderIsReadWithoutDecoding) {
  const fi::PngHeader header = fi::decode_png_header(fi::encode_png(fi::Image(7, 5, 3)), "a");
  EXPECT_EQ(header.width, 7u);
  EXPECT_EQ(header.height, 5u);
  EXPECT_EQ(header.bit_depth, 8);
  EXPECT_EQ(header.color_type, 2);
  // Only the first 33 bytes are looked at: the claimed size comes back though the pixels could
  // never be decoded from the rest.
  const std::string huge = png_claiming(16384, 16384);
  const fi::PngHeader claimed = fi::decode_png_header(huge.substr(0, 33), "huge");
  EXPECT_EQ(claimed.width, 16384u);
  EXPECT_EQ(claimed.height, 16384u);
  fi::write_file_atomic(temp_path("huge.png"), huge);
  EXPECT_EQ(fi::read_png_header(temp_path("huge.png")).width, 16384u);
}

TEST(Png, HeaderCheckIsStrict) {
  auto expect_error = [](const std::string& bytes, const std::string& fragment) {
    try {
      fi::decode_png_header(bytes, "h.png");
      ADD_FAILURE() << "expected FileError containing '" << fragment << "'";
    } catch (const fi::FileError& error) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
    }
  };
  const std::string good = fi::encode_png(fi::Image(4, 4, 1));
  expect_error("GIF89a", "bad signature");
  expect_error(good.substr(0, 20), "truncated");
  std::string bad_crc = good;
  bad_crc[17] ^= 1;
  expect_error(bad_crc, "CRC");
  expect_error(png_claiming(0, 4), "image size 0x4");
  expect_error(png_claiming(4, 0x80000000u), "outside");
  std::string bad_depth = good;
  bad_depth[24] = 3;  // gray at 3 bits
  const std::uint32_t crc =
      std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(bad_depth.data() + 12), 17));
  for (int i = 0; i < 4; ++i) bad_depth[29 + i] = char((crc >> (24 - 8 * i)) & 0xff);
  expect_error(bad_depth, "bit depth 3");
  EXPECT_THROW(fi::read_png_header(temp_path("missing.png")), fi::FileError);
}

TEST(Png, LibpngMessagesAreQuotedPrintably) {
  // A chunk type of control bytes after IHDR: whatever libpng says, no raw byte reaches us.
  std::string bytes = fi::encode_png(fi::Image(4, 4, 1));
  bytes.replace(37, 4, std::string("\x1b[2J", 4));
  try {
    fi::decode_png(bytes, "c.png");
    ADD_FAILURE() << "a corrupted chunk was accepted";
  } catch (const fi::FileError& error) {
    EXPECT_EQ(std::string(error.what()).find('\x1b'), std::string::npos) << error.what();
  }
}

TEST(Png, ClaimsThatTheCompressedDataCannotHoldAreRefusedBeforeAllocating) {
  // 30-odd bytes of pixels cannot inflate to 16384x16384: refused without allocating 256 MB.
  try {
    fi::decode_png(png_claiming(16384, 16384), "bomb.png");
    FAIL() << "the claimed size was believed";
  } catch (const fi::FileError& error) {
    EXPECT_NE(std::string(error.what()).find("cannot hold the 16384x16384 picture"),
              std::string::npos)
        << error.what();
  }
  // A picture that compresses well (one value) at the limit's scale still decodes.
  const fi::Image flat(1024, 1024, 1, 7);
  EXPECT_EQ(fi::decode_png(fi::encode_png(flat), "flat.png").pixels, flat.pixels);
}

TEST(Png, AChunkLongerThanTheFileIsRefusedBeforeLibpngAllocatesIt) {
  // fuzz_png's first finding: 61 bytes whose tEXt chunk claims 738 MB, which libpng allocated
  // before finding the file short.
  const std::string bytes(
      "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x05\x00\x00"
      "\x00\x03\x08\x02\x00\x00\x00\xd4\x54\x52\xaf\x2c\x00\x00\x03\x74\x45\x58\x74\x6b\x00\x76"
      "\xcb\x04\xf3\x89\x50\x4e\x00\x1e\x49\x44\x41\x54\x63\x60\x33\x33\x34",
      61);
  try {
    fi::decode_png(bytes, "text_bomb.png");
    FAIL() << "a truncated file was accepted";
  } catch (const fi::FileError& error) {
    EXPECT_NE(std::string(error.what()).find("chunk 'tEXt' at byte 33 claims 738197507 bytes"),
              std::string::npos)
        << error.what();
  }
}
