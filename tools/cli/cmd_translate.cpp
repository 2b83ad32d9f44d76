// flowinone translate: carry input pictures (visual prompts, or the A side of a paired folder)
// to the model's output pictures. Inputs must already have the model's size and channels: a
// picture that does not is refused rather than silently resized, since the prompt's geometry
// (box positions, arrow lengths) is part of its meaning.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/runtime.h"
#include "flowinone/data/image_files.h"
#include "flowinone/data/image_transforms.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/io/png.h"
#include "model_run_flags.h"

namespace fi::cli {

namespace {

namespace fs = std::filesystem;

struct TranslateFlags {
  ModelRunFlags run;                // --n is not used: every input is translated once
  std::vector<std::string> inputs;  // files, or folders of pictures
  std::string out;                  // a .png for one input, else a folder
  double cfg = -1;                  // < 0: the model's guidance
  bool json = false;
};

std::vector<std::string> input_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    if (fs::is_directory(input)) {
      std::vector<std::string> warnings;
      for (auto& file : list_image_files(input, true, &warnings)) files.push_back(file);
    } else {
      check_file(fs::exists(input), "[--input] ", input, ": no such file or folder");
      check_file(fs::is_regular_file(input), "[--input] ", input,
                 ": not a regular file or folder (a device, pipe or socket?)");
      files.push_back(input);
    }
  }
  check_arg(!files.empty(), "[--input] no pictures in ", inputs.front());
  return files;
}

void run_translate(const TranslateFlags& flags) {
  LoadedModel loaded = load_model_dir(flags.run.model, parse_device(flags.run.device));
  GenerativeModel& model = *loaded.model;
  const ModelInfo info = model.describe();
  check_arg(info.translates, "[translate] ", flags.run.model,
            " does not translate pictures (it was trained on ", loaded.config.target,
            "); train one on image pairs, e.g. --preset visprompt");
  const std::vector<std::int64_t>& shape = info.data_shape;
  const std::vector<std::string> files = input_files(flags.inputs);
  const bool one = files.size() == 1 && !fs::is_directory(flags.out);
  if (one) {
    check_arg(flags.out.size() > 4 && flags.out.compare(flags.out.size() - 4, 4, ".png") == 0,
              "[--out] ", flags.out, ": expected a .png file for one input");
  }
  std::vector<torch::Tensor> pictures;
  for (const auto& file : files) {
    // A PNG's size is in its first 33 bytes: a 16384x16384 one is refused before it is inflated.
    if (sniff_image_file(file) == ImageFileKind::kPng) {
      const PngHeader header = read_png_header(file);
      check_arg(header.width == shape[2] && header.height == shape[1], "[--input] ", file, " is ",
                header.width, "x", header.height, "; the model takes ", shape[2], "x", shape[1]);
    }
    const Image image = read_image_file(file);
    check_arg(image.channels == shape[0] && image.width == shape[2] && image.height == shape[1],
              "[--input] ", file, " is ", image.width, "x", image.height, " with ", image.channels,
              " channel(s); the model takes ", shape[2], "x", shape[1], " with ", shape[0],
              " channel(s)");
    pictures.push_back(image_to_tensor(image));
  }
  GenerationOptions options;
  options.solve = make_solve_options(flags.run.solver, loaded.config);
  options.guidance = flags.cfg >= 0 ? flags.cfg : info.default_guidance;
  options.seed = static_cast<std::uint64_t>(flags.run.seed);
  const auto start = std::chrono::steady_clock::now();
  const Generated outputs = model.translate(torch::stack(pictures), options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const torch::Tensor pixels = outputs.x.cpu();
  if (!one) ensure_directory(flags.out);
  nlohmann::json written = nlohmann::json::array();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string path =
        one ? flags.out : flags.out + "/" + fs::path(files[i]).stem().string() + ".png";
    write_png(path, tensor_to_image(pixels[static_cast<std::int64_t>(i)]),
              {{"flowinone", "translate model=" + flags.run.model + " input=" + files[i]}});
    written.push_back(path);
  }
  std::cerr << "wrote " << files.size() << " picture(s) to " << flags.out << " (" << outputs.nfe
            << " function evaluations each, mode " << info.pairing_mode << ")\n";
  if (flags.json) {
    nlohmann::json json = {{"outputs", written},
                           {"model", flags.run.model},
                           {"mode", info.pairing_mode},
                           {"seconds", seconds},
                           {"cfg", options.guidance}};
    add_solver_fields(json, options.solve, outputs.nfe);
    std::cout << json.dump() << std::endl;
  }
}

}  // namespace

Command add_translate_command(CLI::App& parent) {
  auto flags = std::make_shared<TranslateFlags>();
  CLI::App* app =
      parent.add_subcommand("translate", "carry input pictures to a pairs model's outputs");
  add_model_run_flags(*app, flags->run, "");
  app->add_option("--input", flags->inputs, "input pictures (PNG/JPEG) or folders of them")
      ->required();
  app->add_option("--out", flags->out, "output .png for one input, else a folder")->required();
  app->add_option("--cfg", flags->cfg, "guidance weight on the input (default: the model's)")
      ->check(finite_range(0.0, 100.0));
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] {
            run_translate(*flags);
            return 0;
          }};
}

}  // namespace fi::cli
