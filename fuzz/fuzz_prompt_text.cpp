// The visual-prompt text renderer (prompts/prompt_task.h): any bytes as the text of
// `flowinone prompt --text`, on a canvas of 32, 64 or 96 pixels (the first byte), wrapped and
// centred; text that does not fit is refused with std::invalid_argument.
#include "flowinone/prompts/prompt_task.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  fi::PromptOptions options;
  options.size = 32 * (1 + data[0] % 3);
  const std::string text = fi::fuzz::as_string(data + 1, size - 1);
  fi::fuzz::expect_clean_refusal([&] {
    const torch::Tensor image = fi::render_text_prompt(text, options);
    if (image.size(-1) != options.size || image.size(-2) != options.size) std::abort();
    if (!(image.min().item<float>() >= -1.0f && image.max().item<float>() <= 1.0f)) std::abort();
  });
  return 0;
}
