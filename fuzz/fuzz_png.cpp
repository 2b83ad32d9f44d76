// PNG bytes (io/png.h): the header-only reader, then the full decoder with its text chunks. The
// two must agree on the size of every picture that decodes.
#include "flowinone/io/png.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes = fi::fuzz::as_string(data, size);
  bool header_ok = false;
  fi::PngHeader header;
  fi::fuzz::expect_clean_refusal([&] {
    header = fi::decode_png_header(bytes, "fuzz.png");
    header_ok = true;
  });
  fi::fuzz::expect_clean_refusal([&] {
    std::map<std::string, std::string> text;
    const fi::Image image = fi::decode_png(bytes, "fuzz.png", &text);
    if (image.pixels.size() != std::size_t(image.width) * image.height * image.channels)
      std::abort();
    if (!header_ok || int(header.width) != image.width || int(header.height) != image.height)
      std::abort();
  });
  return 0;
}
