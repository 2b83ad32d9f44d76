// IDX files and Fashion-MNIST: the real data set (when installed), round trips of crafted files,
// plain and gzip'd, and the hostile-input checks.
#include <gtest/gtest.h>
#include <torch/types.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/data/fashion_mnist.h"
#include "flowinone/data/idx.h"
#include "flowinone/data/idx_file.h"
#include "flowinone/data/pixels.h"
#include "temp_dir.h"

namespace {

std::string idx_header(int type_code, const std::vector<std::uint32_t>& dims) {
  std::string bytes = {'\0', '\0', char(type_code), char(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(char((d >> shift) & 0xff));
  }
  return bytes;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// Runs `read` and expects a FileError whose message names `path` and contains `fragment`.
template <typename Read>
void expect_file_error(Read read, const std::string& path, const std::string& fragment) {
  try {
    read();
    FAIL() << "no error for " << path;
  } catch (const fi::FileError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

}  // namespace

TEST(Idx, FashionMnistHasTheDocumentedSizesAndBalancedClasses) {
  if (!fi::fashion_mnist_available()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  for (fi::Split split : {fi::Split::kTrain, fi::Split::kTest}) {
    const fi::ImageSet set = fi::load_fashion_mnist(split);
    const std::int64_t n = split == fi::Split::kTrain ? 60000 : 10000;
    ASSERT_EQ(set.images.sizes(), (std::vector<std::int64_t>{n, 1, 28, 28}));
    ASSERT_EQ(set.labels.sizes(), (std::vector<std::int64_t>{n}));
    EXPECT_EQ(set.images.scalar_type(), torch::kUInt8);
    EXPECT_EQ(set.labels.scalar_type(), torch::kInt64);
    // Fashion-MNIST is balanced: every one of the 10 classes holds a tenth of each split.
    const torch::Tensor counts = torch::bincount(set.labels, {}, 10);
    ASSERT_EQ(counts.size(0), 10);
    for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c].item<std::int64_t>(), n / 10) << c;
    // Real pictures: black backgrounds and bright garments, not a constant.
    EXPECT_EQ(set.images.min().item<int>(), 0);
    EXPECT_EQ(set.images.max().item<int>(), 255);
  }
  ASSERT_EQ(fi::fashion_mnist_class_names().size(), 10u);
  EXPECT_EQ(fi::fashion_mnist_class_names()[0], "T-shirt/top");
  EXPECT_EQ(fi::fashion_mnist_class_names()[9], "Ankle boot");
}

TEST(Idx, PlainAndGzipRoundTripsForEveryType) {
  const fi::testing::TempDir dir("idx");
  // Values that are not byte palindromes, so a missing byte swap shows.
  const torch::Tensor values = torch::arange(-300, 300, 7, torch::kDouble).reshape({2, 43});
  const std::vector<std::pair<int, torch::ScalarType>> types = {{0x0B, torch::kInt16},
                                                                {0x0C, torch::kInt32},
                                                                {0x0D, torch::kFloat32},
                                                                {0x0E, torch::kFloat64}};
  for (const auto& [code, dtype] : types) {
    const torch::Tensor expected = values.to(dtype).contiguous();
    std::string body(static_cast<const char*>(expected.data_ptr()), expected.nbytes());
    const int width = int(expected.element_size());
    for (std::size_t i = 0; i < body.size(); i += width) {
      std::reverse(body.begin() + i, body.begin() + i + width);  // host (little) -> big-endian
    }
    const std::string bytes = idx_header(code, {2, 43}) + body;
    const std::string plain = dir.file("values_" + std::to_string(code));
    fi::write_file_atomic(plain, bytes);
    write_gzip(plain + ".gz", bytes);
    for (const std::string& path : {plain, plain + ".gz"}) {
      const torch::Tensor back = fi::read_idx(path);
      EXPECT_EQ(back.scalar_type(), dtype) << path;
      EXPECT_TRUE(torch::equal(back, expected)) << path;
    }
  }
}

TEST(Idx, ImageSetFromCraftedFilesAndItsErrors) {
  const fi::testing::TempDir dir("idx");
  std::string pixels(3 * 2 * 4, '\0');
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = char(i * 10);
  fi::write_file_atomic(dir.file("images"), idx_header(0x08, {3, 2, 4}) + pixels);
  fi::write_file_atomic(dir.file("labels"), idx_header(0x08, {3}) + std::string("\x02\x00\x01", 3));
  const fi::ImageSet set = fi::load_idx_image_set(dir.file("images"), dir.file("labels"), 3);
  EXPECT_EQ(set.images.sizes(), (std::vector<std::int64_t>{3, 1, 2, 4}));
  EXPECT_EQ(set.images[2][0][1][3].item<int>(), 23 * 10);
  EXPECT_TRUE(torch::equal(set.labels, torch::tensor({2, 0, 1}, torch::kInt64)));

  expect_file_error([&] { fi::load_idx_image_set(dir.file("images"), dir.file("labels"), 2); },
                    dir.file("labels"), "label 2");
  fi::write_file_atomic(dir.file("labels4"), idx_header(0x08, {4}) + std::string(4, '\0'));
  expect_file_error([&] { fi::load_idx_image_set(dir.file("images"), dir.file("labels4"), 3); },
                    dir.file("labels4"), "4 labels for 3 images");
  expect_file_error([&] { fi::load_fashion_mnist(fi::Split::kTest, dir.path()); }, dir.path(),
                    "t10k-images-idx3-ubyte");
}

TEST(Idx, HostileHeadersAreFileErrorsNamingTheFile) {
  const fi::testing::TempDir dir("idx");
  struct Case {
    std::string name;
    std::string bytes;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"empty", "", "truncated header"},
      {"magic", std::string("\x01\x00\x08\x01", 4) + std::string(4, '\0'), "not an IDX file"},
      {"png", "\x89PNG\r\n\x1a\n", "not an IDX file"},
      {"dtype", idx_header(0x07, {4}) + std::string(4, '\0'), "unsupported element type 0x7"},
      {"no_dims", idx_header(0x08, {}), "0 dimensions"},
      {"short_dims", idx_header(0x08, {5, 5}).substr(0, 9), "truncated header"},
      // 2^32-1 cubed overflows 64 bits; the product check must catch it before multiplying.
      {"overflow", idx_header(0x08, {0xffffffffu, 0xffffffffu, 0xffffffffu}), "exceed the limit"},
      {"over_cap", idx_header(0x0E, {1u << 16, 1u << 16}), "exceed the limit"},
      {"truncated", idx_header(0x08, {10, 10}) + std::string(99, '\x05'), "truncated data"},
      {"trailing", idx_header(0x08, {4}) + std::string(5, '\x05'), "trailing bytes"},
  };
  for (const Case& c : cases) {
    const std::string plain = dir.file(c.name);
    fi::write_file_atomic(plain, c.bytes);
    expect_file_error([&] { fi::read_idx(plain); }, plain, c.fragment);
    if (c.bytes.empty()) continue;
    write_gzip(plain + ".gz", c.bytes);
    expect_file_error([&] { fi::read_idx(plain + ".gz"); }, plain + ".gz",
                      c.name == "truncated" ? "" : c.fragment);
  }
  expect_file_error([&] { fi::read_idx(dir.file("absent")); }, dir.file("absent"), "no such file");
}

TEST(Idx, GzipFilesThatClaimMoreThanTheyCanHoldOrAreCutShort) {
  const fi::testing::TempDir dir("idx");
  // 1000^3 bytes is under the element cap, but a tiny gzip file cannot inflate to a gigabyte:
  // refused before the gigabyte is allocated.
  const std::string liar = dir.file("liar.gz");
  write_gzip(liar, idx_header(0x08, {1000, 1000, 1000}) + std::string(100, '\0'));
  expect_file_error([&] { fi::read_idx(liar); }, liar, "gzip file can hold");

  // A gzip stream cut in the middle.
  const std::string whole = dir.file("whole.gz");
  std::string body(20000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = char((i * 2654435761u) >> 13);
  write_gzip(whole, idx_header(0x08, {100, 200}) + body);
  const std::string compressed = fi::read_file(whole);
  const std::string cut = dir.file("cut.gz");
  fi::write_file_atomic(cut, compressed.substr(0, compressed.size() / 2));
  expect_file_error([&] { fi::read_idx(cut); }, cut, "");
  EXPECT_EQ(fi::read_idx(whole).sizes(), (std::vector<std::int64_t>{100, 200}));
}

TEST(Idx, PixelsMapToUnitRangeAndBack) {
  const torch::Tensor pixels = torch::arange(0, 256, torch::kInt32).to(torch::kUInt8);
  const torch::Tensor values = fi::pixels_to_unit_range(pixels);
  EXPECT_EQ(values.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(values[0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(values[255].item<float>(), 1.0f);
  EXPECT_NEAR(values[128].item<float>(), 128 / 127.5 - 1, 1e-6);
  EXPECT_TRUE(torch::equal(fi::unit_range_to_pixels(values), pixels));
  EXPECT_THROW(fi::pixels_to_unit_range(values), std::invalid_argument);
}

// The torch-free reader asks for memory only after the header passed every check, and fills it in
// the host's byte order.
TEST(Idx, ReaderAsksForMemoryOnlyForAHeaderThatPassed) {
  const fi::testing::TempDir dir("idx");
  int allocations = 0;
  std::vector<unsigned char> memory;
  auto allocate = [&](const fi::IdxHeader& header) {
    ++allocations;
    memory.resize(std::size_t(header.num_elements) * header.element_size);
    return memory.data();
  };
  const std::string liar = dir.file("liar");  // declares 10^6 bytes, holds 10
  fi::write_file_atomic(liar, idx_header(0x08, {1000, 1000}) + std::string(10, '\0'));
  expect_file_error([&] { fi::read_idx_file(liar, fi::kMaxIdxElements, allocate); }, liar,
                    "truncated data");
  const std::string wide = dir.file("wide");  // 2^20 x 2^20 elements, over a cap of 2^30
  fi::write_file_atomic(wide, idx_header(0x08, {1u << 20, 1u << 20}));
  expect_file_error([&] { fi::read_idx_file(wide, std::int64_t(1) << 30, allocate); }, wide,
                    "exceed the limit");
  EXPECT_EQ(allocations, 0);

  const std::string good = dir.file("good");  // int16 {2, 2}: 1, 2, 258, -1 big-endian
  fi::write_file_atomic(good, idx_header(0x0B, {2, 2}) + std::string("\0\1\0\2\1\2\xff\xff", 8));
  const fi::IdxHeader header = fi::read_idx_file(good, fi::kMaxIdxElements, allocate);
  EXPECT_EQ(allocations, 1);
  EXPECT_EQ(header.element, fi::IdxElement::kI16);
  EXPECT_EQ(header.shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(header.num_elements, 4);
  std::int16_t values[4];
  ASSERT_EQ(memory.size(), sizeof(values));
  std::memcpy(values, memory.data(), sizeof(values));
  EXPECT_EQ(values[0], 1);
  EXPECT_EQ(values[1], 2);
  EXPECT_EQ(values[2], 258);
  EXPECT_EQ(values[3], -1);
}
