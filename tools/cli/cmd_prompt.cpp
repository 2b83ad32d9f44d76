// flowinone prompt: writes a visual prompt as a PNG, the kind of picture a user could also
// draw by hand: a class name or phrase written on a blank canvas, or for the other tasks a
// generated example input for the seed (and optionally its ground-truth answer).
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/errors.h"
#include "flowinone/data/image_transforms.h"
#include "flowinone/io/png.h"
#include "flowinone/prompts/prompt_task.h"
#include "model_run_flags.h"

namespace fi::cli {

namespace {

struct PromptFlags {
  std::string task;
  std::string text;
  int size = 32;
  std::int64_t seed = 0;
  std::string out;
  std::string answer;
  std::string data_dir = kFashionMnistDir;
  bool json = false;
};

void run_prompt(const PromptFlags& flags) {
  check_png_path("--out", flags.out);
  if (!flags.answer.empty()) check_png_path("--answer", flags.answer);
  const PromptTask task = parse_prompt_task(flags.task);
  const bool takes_text = task == PromptTask::kClass2Image || task == PromptTask::kText2Image;
  check_arg(flags.text.empty() || takes_text, "[prompt] --text applies to class2image and ",
            "text2image only, not to ", flags.task);
  check_arg(flags.text.empty() || flags.answer.empty(), "[prompt] --answer needs a generated ",
            "example: leave --text out");
  PromptOptions options;
  options.size = flags.size;
  torch::Tensor image;
  std::string written_text = flags.text;
  torch::Tensor answer;
  if (!flags.text.empty()) {
    image = render_text_prompt(flags.text, options);
  } else {
    std::unique_ptr<ItemSource> items;
    if (fashion_mnist_available(flags.data_dir)) {
      items = std::make_unique<FashionMnistItems>(Split::kTest, flags.data_dir);
    } else {
      std::cerr << "note: no Fashion-MNIST in " << flags.data_dir << ", drawing synthetic items\n";
      items = std::make_unique<SyntheticItems>();
    }
    const PromptPair pair =
        make_prompt_pair(task, *items, static_cast<std::uint64_t>(flags.seed), options);
    image = pair.input;
    answer = pair.output;
    written_text = pair.info.text;
  }
  const std::map<std::string, std::string> metadata = {
      {"flowinone:task", to_string(task)},
      {"flowinone:seed", std::to_string(flags.seed)},
      {"flowinone:text", written_text}};
  write_png(flags.out, tensor_to_image(image), metadata);
  if (!flags.answer.empty()) write_png(flags.answer, tensor_to_image(answer), metadata);
  std::cerr << "wrote " << flags.out << " (" << to_string(task) << ", " << flags.size << "x"
            << flags.size << (written_text.empty() ? "" : ", \"" + written_text + "\"") << ")"
            << (flags.answer.empty() ? "" : " and " + flags.answer) << "\n";
  if (flags.json) {
    nlohmann::json json = {{"out", flags.out},
                           {"task", to_string(task)},
                           {"seed", flags.seed},
                           {"size", flags.size},
                           {"text", written_text}};
    if (!flags.answer.empty()) json["answer"] = flags.answer;
    std::cout << json.dump() << std::endl;
  }
}

}  // namespace

Command add_prompt_command(CLI::App& parent) {
  auto flags = std::make_shared<PromptFlags>();
  CLI::App* app = parent.add_subcommand(
      "prompt", "write a visual prompt image (text on a canvas, or a generated example input)");
  app->add_option("--task", flags->task, "task: " + prompt_task_names())->required();
  app->add_option("--text", flags->text,
                  "class name or phrase to write (class2image, text2image), e.g. \"bag top-left\"");
  app->add_option("--size", flags->size, "canvas side in pixels, a multiple of 32")
      ->check(CLI::Range(32, 1024))
      ->capture_default_str();
  app->add_option("--seed", flags->seed, "seed of the generated example")->capture_default_str();
  app->add_option("--out", flags->out, "PNG file for the prompt")->required();
  app->add_option("--answer", flags->answer, "PNG file for the example's ground-truth output");
  app->add_option("--data", flags->data_dir, "Fashion-MNIST directory")->capture_default_str();
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] {
            run_prompt(*flags);
            return 0;
          }};
}

}  // namespace fi::cli
