// JPEG bytes (io/jpeg.h) through libjpeg with the project's caps on size and working memory.
#include "flowinone/io/jpeg.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes = fi::fuzz::as_string(data, size);
  fi::fuzz::expect_clean_refusal([&] {
    const fi::Image image = fi::decode_jpeg(bytes, "fuzz.jpg");
    if (image.pixels.size() != std::size_t(image.width) * image.height * image.channels)
      std::abort();
  });
  return 0;
}
