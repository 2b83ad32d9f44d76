// Seed inputs for the fuzz targets, written by the project's own writers: a few small valid
// files of each format, which the fuzzers then mutate. Run by scripts/make_fuzz_corpus.sh, which
// adds the files that need the program (a trained model directory, its checkpoint) and the
// preset configurations.
//
//   make_seeds OUT_DIR     writes OUT_DIR/<target>/<name>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "base64.h"
#include "flowinone/core/atomic_file.h"
#include "flowinone/generative/run_config.h"
#include "flowinone/io/jpeg.h"
#include "flowinone/io/png.h"
#include "flowinone/io/safetensors.h"
#include "nlohmann/json.hpp"

namespace {

std::string out_dir;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fi::write_file_atomic(out_dir + "/" + target + "/" + name, bytes);
}

fi::Image gradient(int width, int height, int channels) {
  fi::Image image(width, height, channels);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = std::uint8_t(i * 37);
  return image;
}

// IDX: two zero bytes, the type code, the dimension count, big-endian sizes, big-endian data.
std::string idx(std::uint8_t type, const std::vector<std::uint32_t>& sizes, std::size_t bytes) {
  std::string out = {'\0', '\0', char(type), char(sizes.size())};
  for (std::uint32_t size : sizes) {
    for (int i = 3; i >= 0; --i) out.push_back(char((size >> (8 * i)) & 0xff));
  }
  for (std::size_t i = 0; i < bytes; ++i) out.push_back(char(i * 13));
  return out;
}

std::string gzip(const std::string& bytes) {
  const std::string path = out_dir + "/.gzip.tmp";
  gzFile file = gzopen(path.c_str(), "wb9");
  gzwrite(file, bytes.data(), unsigned(bytes.size()));
  gzclose(file);
  std::string out = fi::read_file(path);
  std::remove(path.c_str());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds OUT_DIR\n";
    return 2;
  }
  out_dir = argv[1];

  // PNG: each channel layout, text chunks, a 1x1 and a non-square picture.
  const std::string png_gray = fi::encode_png(gradient(8, 8, 1));
  seed("fuzz_png", "gray8.png", png_gray);
  seed("fuzz_png", "rgb5x3.png", fi::encode_png(gradient(5, 3, 3)));
  seed("fuzz_png", "rgba1.png", fi::encode_png(gradient(1, 1, 4)));
  seed("fuzz_png", "text.png",
       fi::encode_png(gradient(4, 4, 3), {{"flowinone", "sample model=m steps=10"}}));

  // JPEG: gray and RGB, two qualities.
  seed("fuzz_jpeg", "gray.jpg", fi::encode_jpeg(gradient(16, 16, 1), 90));
  seed("fuzz_jpeg", "rgb.jpg", fi::encode_jpeg(gradient(16, 8, 3), 50));
  seed("fuzz_jpeg", "tiny.jpg", fi::encode_jpeg(gradient(1, 1, 3), 100));

  // The server's picture fields: plain base64 and a data URL of a PNG.
  seed("fuzz_server_request", "base64.txt", fi::server::base64_encode(png_gray));
  seed("fuzz_server_request", "data_url.txt",
       "data:image/png;base64," + fi::server::base64_encode(fi::encode_png(gradient(2, 2, 3))));

  // safetensors: every dtype, metadata, an empty tensor and a scalar.
  const torch::Tensor values = torch::arange(6, torch::kFloat32).reshape({2, 3});
  seed("fuzz_safetensors", "floats.safetensors",
       fi::encode_safetensors({{"w", values}, {"b", values.to(torch::kFloat64)[0]}},
                              {{"format", "seed"}, {"step", "12"}}));
  seed("fuzz_safetensors", "dtypes.safetensors",
       fi::encode_safetensors({{"f16", values.to(torch::kFloat16)},
                               {"bf16", values.to(torch::kBFloat16)},
                               {"i64", values.to(torch::kInt64)},
                               {"i32", values.to(torch::kInt32)},
                               {"i16", values.to(torch::kInt16)},
                               {"i8", values.to(torch::kInt8)},
                               {"u8", values.to(torch::kUInt8)},
                               {"bool", values.gt(2)},
                               {"empty", torch::zeros({0, 4})},
                               {"scalar", torch::tensor(3.5)}}));

  // IDX: each type code, plain and gzip'd.
  const std::string images = idx(0x08, {3, 4, 4}, 48);
  seed("fuzz_idx", "u8.idx", images);
  seed("fuzz_idx", "u8.idx.gz", gzip(images));
  seed("fuzz_idx", "labels.idx", idx(0x08, {5}, 5));
  seed("fuzz_idx", "i8.idx", idx(0x09, {2, 2}, 4));
  seed("fuzz_idx", "i16.idx", idx(0x0B, {3}, 6));
  seed("fuzz_idx", "i32.idx.gz", gzip(idx(0x0C, {2}, 8)));
  seed("fuzz_idx", "f32.idx", idx(0x0D, {2, 1}, 8));
  seed("fuzz_idx", "f64.idx", idx(0x0E, {1}, 8));

  // Configuration: the default as JSON (first byte 1) and as assignments (first byte 2); the
  // preset TOML files (first byte 0) come from the script.
  const fi::RunConfig config;
  seed("fuzz_config", "default.json", std::string(1, '\1') + fi::config_to_json(config).dump());
  seed("fuzz_config", "sets.txt",
       std::string(1, '\2') + "model=mlp\nwidth=64\npath=cosine\ncoupling=sinkhorn\nlr=1e-3");

  // Prompt text: the first byte picks the canvas size.
  seed("fuzz_prompt_text", "bag.txt", std::string(1, '\0') + "bag");
  seed("fuzz_prompt_text", "sentence.txt", std::string(1, '\1') + "an ankle boot, top left");
  seed("fuzz_prompt_text", "symbols.txt", std::string(1, '\2') + "0-9 !?#@ {x} \"q\"");
  return 0;
}
