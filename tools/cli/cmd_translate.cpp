// flowinone translate: carry input pictures (visual prompts, or the A side of a paired folder)
// to the model's output pictures. Inputs must already have the model's size and channels: a
// picture that does not is refused rather than silently resized, since the prompt's geometry
// (box positions, arrow lengths) is part of its meaning.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/runtime.h"
#include "flowinone/data/image_files.h"
#include "flowinone/data/image_transforms.h"
#include "flowinone/io/png.h"
#include "flowinone/solvers/image_generation.h"
#include "flowinone/train/data_spec.h"
#include "flowinone/train/model_dir.h"
#include "model_run_flags.h"

namespace fi::cli {

namespace {

namespace fs = std::filesystem;

struct TranslateFlags {
  std::string model;
  std::vector<std::string> inputs;  // files, or folders of pictures
  std::string out;                  // a .png for one input, else a folder
  SolverFlags solver;
  double cfg = -1;  // < 0: the model's guidance
  std::int64_t seed = 1;
  std::string device = "auto";
};

std::vector<std::string> input_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    if (fs::is_directory(input)) {
      std::vector<std::string> warnings;
      for (auto& file : list_image_files(input, true, &warnings)) files.push_back(file);
    } else {
      check_file(fs::is_regular_file(input), "[--input] ", input, ": no such file or folder");
      files.push_back(input);
    }
  }
  check_arg(!files.empty(), "[--input] no pictures in ", inputs.front());
  return files;
}

void run_translate(const TranslateFlags& flags) {
  const c10::Device device = parse_device(flags.device);
  LoadedModel loaded = load_model_dir(flags.model, device);
  const RunConfig& config = loaded.config;
  check_arg(loaded.model && is_image_pairs(config), "[translate] ", flags.model,
            " does not translate pictures (it was trained on ", config.target,
            "); train one on image pairs, e.g. --preset visprompt");
  const std::vector<std::int64_t> shape = data_shape(config);
  const std::vector<std::string> files = input_files(flags.inputs);
  const bool one = files.size() == 1 && !fs::is_directory(flags.out);
  if (one) {
    check_arg(flags.out.size() > 4 && flags.out.compare(flags.out.size() - 4, 4, ".png") == 0,
              "[--out] ", flags.out, ": expected a .png file for one input");
  }
  std::vector<torch::Tensor> pictures;
  for (const auto& file : files) {
    const Image image = read_image_file(file);
    check_arg(image.channels == shape[0] && image.width == shape[2] && image.height == shape[1],
              "[--input] ", file, " is ", image.width, "x", image.height, " with ", image.channels,
              " channel(s); the model takes ", shape[2], "x", shape[1], " with ", shape[0],
              " channel(s)");
    pictures.push_back(image_to_tensor(image));
  }
  ImageGenerationOptions options;
  options.solve = make_solve_options(flags.solver, config);
  options.guidance = flags.cfg >= 0 ? flags.cfg : config.guidance;
  options.seed = static_cast<std::uint64_t>(flags.seed);
  std::int64_t nfe = 0;
  const torch::Tensor outputs =
      translate_images(loaded.model, config, torch::stack(pictures), options, device, &nfe).cpu();
  if (!one) ensure_directory(flags.out);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string path =
        one ? flags.out : flags.out + "/" + fs::path(files[i]).stem().string() + ".png";
    write_png(path, tensor_to_image(outputs[static_cast<std::int64_t>(i)]),
              {{"flowinone", "translate model=" + flags.model + " input=" + files[i]}});
  }
  std::cerr << "wrote " << files.size() << " picture(s) to " << flags.out << " (" << nfe
            << " function evaluations each, mode " << pairing_mode(config) << ")\n";
}

}  // namespace

Command add_translate_command(CLI::App& parent) {
  auto flags = std::make_shared<TranslateFlags>();
  CLI::App* app =
      parent.add_subcommand("translate", "carry input pictures to a pairs model's outputs");
  app->add_option("--model", flags->model, "model directory (trained on image pairs)")->required();
  app->add_option("--input", flags->inputs, "input pictures (PNG/JPEG) or folders of them")
      ->required();
  app->add_option("--out", flags->out, "output .png for one input, else a folder")->required();
  add_solver_flags(*app, flags->solver);
  app->add_option("--cfg", flags->cfg, "guidance weight on the input (default: the model's)")
      ->check(CLI::Range(0.0, 100.0));
  app->add_option("--seed", flags->seed, "seed of the noise")->check(CLI::NonNegativeNumber);
  app->add_option("--device", flags->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  return {app, [flags] { run_translate(*flags); }};
}

}  // namespace fi::cli
