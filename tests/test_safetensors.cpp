#include <gtest/gtest.h>
#include <torch/types.h>

#include <filesystem>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/io/safetensors.h"
#include "flowinone/io/safetensors_header.h"
#include "temp_dir.h"

namespace {

// A safetensors file from a raw header string and raw data bytes.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out;
  const std::uint64_t size = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(char((size >> (8 * i)) & 0xff));
  return out + header + data;
}

// Expects decode to throw FileError whose message contains `fragment`.
void expect_file_error(const std::string& bytes, const std::string& fragment) {
  try {
    fi::decode_safetensors(bytes, "test.safetensors");
    ADD_FAILURE() << "expected FileError containing '" << fragment << "'";
  } catch (const fi::FileError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[decode_safetensors] test.safetensors"), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

void expect_same(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.scalar_type(), b.scalar_type());
  EXPECT_EQ(a.sizes().vec(), b.sizes().vec());
  EXPECT_TRUE(a.defined() && b.defined() && torch::equal(a, b));
}

}  // namespace

TEST(Safetensors, RoundTripKeepsDtypesShapesValuesAndMetadata) {
  torch::manual_seed(0);
  const fi::NamedTensors tensors = {
      {"w.f32", torch::randn({3, 4})},
      {"b.f64", torch::randn({5}, torch::kFloat64)},
      {"h.f16", torch::randn({2, 2, 2}).to(torch::kFloat16)},
      {"h.bf16", torch::randn({7}).to(torch::kBFloat16)},
      {"i64", torch::arange(-5, 7, torch::kInt64).reshape({3, 4})},
      {"i32", torch::arange(0, 9, torch::kInt32)},
      {"i16", torch::arange(-3, 3, torch::kInt16)},
      {"i8", torch::arange(-100, 100, 7, torch::kInt8)},
      {"u8", torch::arange(0, 255, 5, torch::kUInt8)},
      {"mask", torch::rand({6}) > 0.5},
      {"scalar", torch::tensor(3.25)},
      {"empty", torch::zeros({0, 3})},
      {"strided", torch::randn({4, 6}).t()},  // non-contiguous input
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"step", "1200"}};
  const fi::testing::TempDir scratch("safetensors");
  const std::string path = scratch.file("nested/model.safetensors");
  fi::save_safetensors(path, tensors, metadata);
  const fi::SafetensorsContents loaded = fi::load_safetensors(path);
  EXPECT_EQ(loaded.metadata, metadata);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_EQ(loaded.tensors.count(name), 1u);
    expect_same(loaded.tensors.at(name), tensor);
    EXPECT_TRUE(loaded.tensors.at(name).is_contiguous());
  }
  EXPECT_EQ(loaded.tensors.at("scalar").dim(), 0);
}

TEST(Safetensors, HeaderIsPaddedToEightBytesAndReadableJson) {
  const std::string bytes = fi::encode_safetensors({{"x", torch::ones({3}, torch::kInt8)}});
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | std::uint8_t(bytes[i]);
  EXPECT_EQ(header_size % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + header_size + 3);
  const std::string header = bytes.substr(8, header_size);
  EXPECT_NE(header.find("\"dtype\":\"I8\""), std::string::npos) << header;
  EXPECT_NE(header.find("\"data_offsets\":[0,3]"), std::string::npos) << header;
  EXPECT_EQ(bytes.substr(8 + header_size), std::string(3, '\x01'));
}

TEST(Safetensors, EncodeRejectsBadArguments) {
  EXPECT_THROW(fi::encode_safetensors({{"a", torch::ones({1})}, {"a", torch::ones({2})}}),
               std::invalid_argument);
  EXPECT_THROW(fi::encode_safetensors({{"__metadata__", torch::ones({1})}}), std::invalid_argument);
  EXPECT_THROW(fi::encode_safetensors({{"c", torch::ones({2}, torch::kComplexFloat)}}),
               std::invalid_argument);
}

TEST(Safetensors, HostileFilesAreFileErrors) {
  const std::string good_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string data(8, '\0');
  // Sanity: the well-formed version decodes.
  EXPECT_EQ(fi::decode_safetensors(make_file("{" + good_entry + "}", data), "ok").tensors.size(),
            1u);

  expect_file_error(std::string("\x05\x00\x00", 3), "too short");
  expect_file_error(make_file("{" + good_entry + "}", data).substr(0, 20), "header length");
  std::string wrong_length = make_file("{}", "");
  wrong_length[0] = char(200);
  expect_file_error(wrong_length, "header length 200");
  expect_file_error(make_file("{\"a\": [1, 2", data), "not valid JSON");
  expect_file_error(make_file("[1, 2, 3]", data), "expected an object");
  expect_file_error(make_file(R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", data),
                    "unknown dtype 'F8'");
  expect_file_error(make_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data),
                    "bad shape entry -2");
  expect_file_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data),
                    "outside the 8 data bytes");
  expect_file_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[6,4]}})", data),
                    "outside");
  expect_file_error(make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
                    "needs 12");
  expect_file_error(
      make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                data),
      "overflows");
  expect_file_error(make_file(R"({"a":{"dtype":"I8","shape":[6],"data_offsets":[0,6]},)"
                              R"("b":{"dtype":"I8","shape":[4],"data_offsets":[4,8]}})",
                              data),
                    "overlap");
  expect_file_error(make_file(R"({"a":{"dtype":"F32","shape":[2]}})", data), "data_offsets");
  expect_file_error(make_file(R"({"__metadata__":{"k":3}})", data), "metadata 'k'");
  expect_file_error(make_file(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})",
                              std::string("\x01\x07", 2)),
                    "holds the byte 7");
}

TEST(Safetensors, LoadNamesThePathAndMissingFilesFail) {
  const fi::testing::TempDir scratch("safetensors");
  const std::string path = scratch.file("garbage.safetensors");
  fi::write_file_atomic(path, make_file("not json at all!", ""));
  try {
    fi::load_safetensors(path);
    FAIL() << "expected FileError";
  } catch (const fi::FileError& e) {
    EXPECT_NE(std::string(e.what()).find("[load_safetensors] " + path), std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);
  EXPECT_THROW(fi::load_safetensors(path), fi::FileError);
}

TEST(Safetensors, HostileNamesAreQuotedPrintably) {
  // A JSON escape puts ESC (a terminal escape sequence) and a bidirectional override in the name.
  const std::string header =
      R"({"\u001b]0;owned\u0007\u202e":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})";
  try {
    fi::decode_safetensors(make_file(header, std::string(4, '\0')), "x.safetensors");
    FAIL() << "a short tensor was accepted";
  } catch (const fi::FileError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
    EXPECT_EQ(message.find("\xe2\x80\xae"), std::string::npos) << message;
    EXPECT_NE(message.find("tensor '\\x1b]0;owned\\x07\\xe2\\x80\\xae'"), std::string::npos)
        << message;
  }
  // A megabyte-long name is cut short in the message.
  const std::string long_name(1 << 20, 'a');
  try {
    fi::decode_safetensors(make_file("{\"" + long_name + "\":{}}", ""), "x.safetensors");
    FAIL() << "a tensor without a dtype was accepted";
  } catch (const fi::FileError& error) {
    EXPECT_LT(std::string(error.what()).size(), 400u);
    EXPECT_NE(std::string(error.what()).find("(1048576 bytes)"), std::string::npos);
  }
}

TEST(Safetensors, ShapesWhoseExtentOverflowsAreRefusedEvenWhenEmpty) {
  // 0 elements, but 2^62 x 2^62 would overflow LibTorch's size arithmetic.
  const std::string header =
      R"({"w":{"dtype":"U8","shape":[0,4611686018427387904,4611686018427387904],)"
      R"("data_offsets":[0,0]}})";
  try {
    fi::decode_safetensors(make_file(header, ""), "x.safetensors");
    FAIL() << "an overflowing shape was accepted";
  } catch (const fi::FileError& error) {
    EXPECT_NE(std::string(error.what()).find("overflows"), std::string::npos) << error.what();
  }
  std::string dims = "[1";
  for (int i = 0; i < 64; ++i) dims += ",1";
  expect_file_error(
      make_file(R"({"w":{"dtype":"U8","shape":)" + dims + R"(],"data_offsets":[0,1]}})", "x"),
      "65 dimensions");
}

// The torch-free layer: a header written for entries parses back to the same entries (sorted by
// name, as the JSON object is), with the data section where the length says.
TEST(Safetensors, HeaderLayerRoundTripsEntriesWithoutTensors) {
  using fi::SafetensorsDtype;
  const std::vector<fi::SafetensorsEntry> entries = {
      {"w", SafetensorsDtype::kF32, {2, 3}, 0, 24},
      {"flags", SafetensorsDtype::kBool, {3}, 24, 27},
      {"empty", SafetensorsDtype::kBF16, {0, 5}, 27, 27},
      {"scalar", SafetensorsDtype::kI64, {}, 27, 35},
  };
  const std::map<std::string, std::string> metadata = {{"step", "7"}, {"note", "caf\u00e9"}};
  const std::string header = fi::encode_safetensors_header(entries, metadata);
  EXPECT_EQ(header.size() % 8, 0u);
  std::string data(35, '\0');
  data[24] = 1;  // a true in "flags"
  const fi::SafetensorsHeader parsed = fi::parse_safetensors_header(header + data, "t: ");
  EXPECT_EQ(parsed.data_offset, header.size());
  EXPECT_EQ(parsed.metadata, metadata);
  ASSERT_EQ(parsed.entries.size(), entries.size());
  for (const fi::SafetensorsEntry& expected : entries) {
    bool found = false;
    for (const fi::SafetensorsEntry& entry : parsed.entries) {
      if (entry.name != expected.name) continue;
      found = true;
      EXPECT_EQ(entry.dtype, expected.dtype) << entry.name;
      EXPECT_EQ(entry.shape, expected.shape) << entry.name;
      EXPECT_EQ(entry.begin, expected.begin) << entry.name;
      EXPECT_EQ(entry.end, expected.end) << entry.name;
    }
    EXPECT_TRUE(found) << expected.name;
  }
  EXPECT_EQ(parsed.entries.front().name, "empty");  // sorted by name

  // The same header in front of a BOOL byte that is neither 0 nor 1 is refused, naming the tensor.
  data[25] = 2;
  try {
    fi::parse_safetensors_header(header + data, "t: ");
    ADD_FAILURE() << "a BOOL byte of 2 was accepted";
  } catch (const fi::FileError& e) {
    EXPECT_NE(std::string(e.what()).find("'flags' holds the byte 2"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(fi::encode_safetensors_header({entries[0], entries[0]}, {}), std::invalid_argument);
  EXPECT_EQ(fi::safetensors_dtype_size(SafetensorsDtype::kBF16), 2u);
  EXPECT_STREQ(fi::safetensors_dtype_name(SafetensorsDtype::kBool), "BOOL");
}
