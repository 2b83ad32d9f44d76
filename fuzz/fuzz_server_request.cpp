// The server's picture fields (tools/server/base64.h): base64 or a data URL, decoded, then
// the PNG header read before any pixel (io/png.h), as a request body's "image" goes. Decoding
// what base64_encode wrote must give the bytes back.
#include "base64.h"
#include "flowinone/io/png.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = fi::fuzz::as_string(data, size);
  fi::fuzz::expect_clean_refusal([&] {
    const std::string bytes = fi::server::decode_picture_text(text, "image");
    if (fi::server::base64_decode(fi::server::base64_encode(bytes), "again") != bytes) std::abort();
    const fi::PngHeader header = fi::decode_png_header(bytes, "image");
    if (header.width == 0 || header.height == 0) std::abort();
  });
  return 0;
}
