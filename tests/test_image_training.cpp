// Training image models end to end: the data description, the trainer on image folders and
// VisPrompt-mini pairs (with its exact resume), previews, and image generation.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/data/fashion_mnist.h"
#include "flowinone/eval/classifier.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/generative/guidance.h"
#include "flowinone/generative/image_generation.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/generative/model_registry.h"
#include "flowinone/io/png.h"
#include "flowinone/io/safetensors.h"
#include "flowinone/models/unet.h"
#include "flowinone/train/trainer.h"
#include "temp_dir.h"

namespace fs = std::filesystem;

namespace {

// A folder of 12 small pictures in two classes: bright squares ("light") and dark ones ("dark"),
// of varied sizes, RGB.
void write_class_folder(const std::string& root) {
  for (const char* name : {"dark", "light"}) fs::create_directories(root + "/" + name);
  for (int i = 0; i < 12; ++i) {
    const bool light = i % 2 == 0;
    fi::Image image(10 + i, 12, 3, light ? 40 : 200);
    for (int y = 2; y < 8; ++y)
      for (int x = 2; x < 8; ++x)
        for (int c = 0; c < 3; ++c) image.at(x, y)[c] = light ? 250 : 10;
    fi::write_png(root + (light ? "/light/" : "/dark/") + std::to_string(i) + ".png", image);
  }
}

fi::RunConfig folder_config(const std::string& root, std::int64_t steps) {
  fi::RunConfig config;
  config.target = "folder";
  config.data_dir = root;
  config.image_size = 8;
  config.channels = 3;
  config.num_classes = 2;
  config.model = "unet";
  config.base_channels = 8;
  config.steps = steps;
  config.batch_size = 4;
  config.warmup_steps = 2;
  config.checkpoint_every = 1000;
  config.log_every = 1;
  config.seed = 5;
  config.device = "cpu";
  config.num_workers = 1;
  config.random_flip = 1;
  return config;
}

fi::RunConfig visprompt_config(std::int64_t steps) {
  fi::RunConfig config;
  config.target = "visprompt";
  config.data_dir = "synthetic";
  config.source = "input";
  config.sigma = 0.05;
  config.model = "unet";
  config.base_channels = 8;
  config.steps = steps;
  config.batch_size = 3;
  config.warmup_steps = 2;
  config.checkpoint_every = 1000;
  config.log_every = 1;
  config.seed = 2;
  config.device = "cpu";
  return config;
}

// Trains `steps` in one go and in two parts (stopped after `first`, resumed) and expects equal
// weights and optimizer state.
void expect_exact_resume(const fi::RunConfig& config, int first) {
  const fi::testing::TempDir scratch("image_resume");
  fi::TrainOptions options;
  options.out_dir = scratch.file("straight");
  fi::train_model(config, options);
  options.out_dir = scratch.file("resumed");
  fi::TrainCallbacks stop;
  int polls = 0;
  stop.should_stop = [&] { return ++polls > first; };
  EXPECT_EQ(fi::train_model(config, options, stop).steps_done, first);
  options.resume = true;
  fi::train_model(config, options);
  const auto a = fi::load_safetensors(scratch.file("straight/checkpoint/state.safetensors"));
  const auto b = fi::load_safetensors(scratch.file("resumed/checkpoint/state.safetensors"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, tensor] : a.tensors) {
    ASSERT_TRUE(b.tensors.count(name)) << name;
    EXPECT_TRUE(torch::equal(tensor, b.tensors.at(name))) << name;
  }
}

}  // namespace

TEST(DataSpec, ShapesAndModesFollowTheTarget) {
  fi::RunConfig config;
  EXPECT_EQ(fi::data_shape(config), (std::vector<std::int64_t>{2}));
  EXPECT_FALSE(fi::is_image_data(config));
  config.target = "fashion-mnist";
  config.model = "unet";
  EXPECT_EQ(fi::data_shape(config), (std::vector<std::int64_t>{1, 28, 28}));
  EXPECT_EQ(fi::condition_channels(config), 0);
  EXPECT_EQ(fi::pairing_mode(config), "");
  config = visprompt_config(1);
  config.image_size = 64;
  EXPECT_EQ(fi::data_shape(config), (std::vector<std::int64_t>{1, 64, 64}));
  EXPECT_EQ(fi::condition_channels(config), 1);
  EXPECT_EQ(fi::pairing_mode(config), "bridge");
  config.source = "gaussian";
  EXPECT_EQ(fi::pairing_mode(config), "conditional");
}

TEST(DataSpec, MismatchedKeysAreRefusedByName) {
  auto rejects = [](const std::function<void(fi::RunConfig&)>& change, const std::string& key) {
    fi::RunConfig config;
    config.target = "fashion-mnist";
    config.model = "unet";
    change(config);
    try {
      fi::validate_config(config);
      ADD_FAILURE() << "accepted a bad " << key;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(key), std::string::npos) << error.what();
    }
  };
  rejects([](auto& c) { c.image_size = 32; }, "image_size");
  rejects([](auto& c) { c.num_classes = 7; }, "num_classes");
  rejects([](auto& c) { c.source = "input"; }, "source");
  rejects([](auto& c) { c.model = "mlp"; }, "model");
  rejects([](auto& c) { c.target = "folder"; }, "data_dir");
  rejects([](auto& c) { c.target = "nonsense"; }, "target");
  rejects([](auto& c) { c.precision = "fp8"; }, "precision");
  rejects([](auto& c) { c.accum = 0; }, "accum");
  rejects([](auto& c) { c.unet = "huge"; }, "huge");
  rejects([](auto& c) { c.base_channels = 7; }, "base_channels");
  rejects(
      [](auto& c) {
        c.target = "visprompt";
        c.source = "input";
        c.coupling = "ot-exact";
      },
      "coupling");
  rejects(
      [](auto& c) {
        c.target = "checkerboard";
        c.model = "mlp";
        c.sample_every = 10;
      },
      "sample_every");
}

TEST(DataSpec, UNetFollowsTheData) {
  fi::RunConfig config = visprompt_config(1);
  const fi::UNetOptions options = fi::unet_options(config);
  EXPECT_EQ(options.in_channels, 1);
  EXPECT_EQ(options.condition_channels, 1);
  EXPECT_EQ(options.base_channels, 8);
  EXPECT_EQ(options.num_classes, 0);
  config = folder_config("/nowhere", 1);
  EXPECT_EQ(fi::unet_options(config).in_channels, 3);
  EXPECT_EQ(fi::unet_options(config).num_classes, 2);
}

TEST(ImageTraining, FolderRunResumesExactlyAndWritesPreviews) {
  const fi::testing::TempDir data("image_folder_data");
  write_class_folder(data.path());
  fi::RunConfig config = folder_config(data.path(), 7);
  config.accum = 2;  // the loader advances two batches per step; resume must follow
  expect_exact_resume(config, 3);

  const fi::testing::TempDir scratch("image_preview");
  config.steps = 2;
  config.sample_every = 1;
  fi::TrainOptions options;
  options.out_dir = scratch.path();
  fi::train_model(config, options);
  for (const char* name : {"samples/step_00000001.png", "samples/step_00000002.png"}) {
    const fi::Image preview = fi::read_png(scratch.file(name));
    // Two classes: two rows of 8 pictures of 8 px with 2 px between and around.
    EXPECT_EQ(preview.width, 2 + 8 * 10);
    EXPECT_EQ(preview.height, 2 + 2 * 10);
    EXPECT_EQ(preview.channels, 3);
  }
}

TEST(ImageTraining, MoreClassesThanTheFolderHasIsAnError) {
  const fi::testing::TempDir data("image_folder_classes");
  write_class_folder(data.path());
  fi::RunConfig config = folder_config(data.path(), 1);
  config.num_classes = 3;
  fi::TrainOptions options;
  const fi::testing::TempDir scratch("image_classes_out");
  options.out_dir = scratch.path();
  EXPECT_THROW(fi::train_model(config, options), std::invalid_argument);
}

TEST(ImageTraining, VisPromptBridgeResumesExactly) { expect_exact_resume(visprompt_config(5), 2); }

TEST(ImageTraining, NoisyBridgeResumesExactly) {
  fi::RunConfig config = visprompt_config(4);
  config.source_noise = 0.5;
  expect_exact_resume(config, 2);
  // The noise reaches the training pairs: the same seed without it gives another first loss.
  fi::RunConfig quiet = config;
  quiet.source_noise = 0;
  const double noisy_loss = fi::Trainer(config, torch::kCPU).step().item<double>();
  const double quiet_loss = fi::Trainer(quiet, torch::kCPU).step().item<double>();
  EXPECT_GT(std::abs(noisy_loss - quiet_loss), 1e-3 * quiet_loss);
}

TEST(ImageTraining, TrainingLowersTheLossOnVisPrompt) {
  fi::RunConfig config = visprompt_config(30);
  config.batch_size = 4;
  config.lr = 3e-3;
  fi::Trainer trainer(config, torch::kCPU);
  double first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    const double loss = trainer.step().item<double>();
    if (i < 5) first += loss;
    if (i >= 25) last += loss;
  }
  EXPECT_LT(last, 0.8 * first) << "first five " << first << ", last five " << last;
}

TEST(ImageGeneration, ChunksDoNotChangeTheImagesAndLabelsAreChecked) {
  fi::RunConfig config = folder_config("/unused", 1);
  fi::seed_global(3);
  // The configuration's UNet with groups of two channels: with one channel per group (base 8,
  // 32 groups) GroupNorm would erase the embedding's per-channel shift, and the labels with it.
  fi::UNetOptions unet = fi::unet_options(config);
  unet.norm_groups = 4;
  unet.zero_init = false;
  const fi::VelocityModelPtr model = std::make_shared<fi::UNetVelocity>(unet);
  model->eval();
  fi::GenerationOptions options;
  options.solve.num_steps = 3;
  options.guidance = 2.0;
  options.seed = 9;
  const torch::Tensor labels = torch::tensor({0, 1, 1, 0, 1}, torch::kInt64);
  const torch::Tensor whole = fi::generate_images(model, config, 5, labels, options, torch::kCPU);
  options.batch_size = 2;
  std::int64_t nfe = 0;
  const torch::Tensor chunked =
      fi::generate_images(model, config, 5, labels, options, torch::kCPU, &nfe);
  EXPECT_EQ(whole.sizes(), (std::vector<std::int64_t>{5, 3, 8, 8}));
  EXPECT_TRUE(torch::allclose(whole, chunked, 1e-5, 1e-6));
  EXPECT_EQ(nfe, 3);
  // Guidance changes the images; weight 1 is the plain conditional velocity.
  options.guidance = 1.0;
  const torch::Tensor plain = fi::generate_images(model, config, 5, labels, options, torch::kCPU);
  EXPECT_GT((plain - whole).abs().max().item<double>(), 1e-4);
  EXPECT_THROW(
      fi::generate_images(model, config, 5, torch::tensor({0, 1, 2, 0, 1}), options, torch::kCPU),
      std::invalid_argument);
  config.num_classes = 0;
  EXPECT_THROW(fi::generate_images(model, config, 5, labels, options, torch::kCPU),
               std::invalid_argument);
}

TEST(ImageGeneration, TranslationChecksTheInputShapeAndStartsBridgesAtTheInput) {
  fi::RunConfig config = visprompt_config(1);
  config.sigma = 0;
  fi::seed_global(4);
  const fi::VelocityModelPtr model = fi::build_velocity_network(config);  // zero output: v = 0
  model->eval();
  fi::GenerationOptions options;
  options.solve.num_steps = 2;
  const torch::Tensor inputs = torch::rand({2, 1, 32, 32}) * 2 - 1;
  // v = 0 at initialization, so a bridge returns its inputs unchanged.
  EXPECT_TRUE(
      torch::allclose(fi::translate_images(model, config, inputs, options, torch::kCPU), inputs));
  EXPECT_THROW(
      fi::translate_images(model, config, torch::zeros({2, 1, 64, 64}), options, torch::kCPU),
      std::invalid_argument);
  EXPECT_THROW(
      fi::translate_images(model, config, torch::zeros({2, 3, 32, 32}), options, torch::kCPU),
      std::invalid_argument);
  fi::RunConfig noise = folder_config("/unused", 1);
  EXPECT_THROW(fi::translate_images(model, noise, inputs, options, torch::kCPU),
               std::invalid_argument);
}

TEST(ImageGeneration, BridgesStartAtTheInputWithTheTrainingNoise) {
  // Training starts a bridge at input + source_noise * eps1 + sigma * eps2: translation must
  // draw the same spread, sqrt(0.3^2 + 0.4^2) = 0.5. v = 0 leaves x0 as the output.
  fi::RunConfig config = visprompt_config(1);
  config.sigma = 0.3;
  config.source_noise = 0.4;
  fi::seed_global(4);
  const fi::VelocityModelPtr model = fi::build_velocity_network(config);
  model->eval();
  fi::GenerationOptions options;
  options.solve.num_steps = 1;
  const torch::Tensor inputs = torch::rand({8, 1, 32, 32}) * 2 - 1;
  const torch::Tensor noise =
      fi::translate_images(model, config, inputs, options, torch::kCPU) - inputs;
  EXPECT_NEAR(noise.std().item<double>(), 0.5, 0.02);
  EXPECT_NEAR(noise.mean().item<double>(), 0.0, 0.02);
  config.source = "gaussian";  // noise on an input that is not there
  EXPECT_THROW(fi::validate_config(config), std::invalid_argument);
  config.source = "input";
  config.source_noise = -1;
  EXPECT_THROW(fi::validate_config(config), std::invalid_argument);
}

TEST(Guidance, NullConditionBlanksTheImageAndTheLabels) {
  fi::Conditioning cond;
  cond.labels = torch::tensor({3, 1}, torch::kInt64);
  cond.image = torch::ones({2, 1, 4, 4});
  const fi::Conditioning null = fi::null_condition(cond);
  EXPECT_TRUE(torch::equal(null.labels, torch::full({2}, -1, torch::kInt64)));
  EXPECT_TRUE(torch::equal(null.image, torch::zeros({2, 1, 4, 4})));
}

// ---- The command line on image models ----

namespace {

using fi::testing::CliRun;
using fi::testing::run_cli;

void expect_usage_error(const std::string& arguments, const std::string& mention) {
  const CliRun run = run_cli(arguments);
  EXPECT_EQ(run.status, 2) << arguments << "\n" << run.output;
  EXPECT_NE(run.output.find(mention), std::string::npos) << run.output;
}

}  // namespace

TEST(ImageCli, SampleDrawsClassRowsAndRefusesWhatTheModelCannotDo) {
  const fi::testing::TempDir data("image_cli_data");
  write_class_folder(data.path());
  const fi::testing::TempDir scratch("image_cli");
  fi::TrainOptions options;
  options.out_dir = scratch.file("model");
  fi::train_model(folder_config(data.path(), 2), options);
  const std::string model = " --model " + scratch.file("model");

  CliRun run = run_cli("sample" + model + " --class all --n 3 --steps 2 --cfg 2 --out " +
                       scratch.file("all.png"));
  ASSERT_EQ(run.status, 0) << run.output;
  fi::Image grid = fi::read_png(scratch.file("all.png"));
  EXPECT_EQ(grid.width, 2 + 3 * 10);   // 3 per class of 8 px, 2 px apart
  EXPECT_EQ(grid.height, 2 + 2 * 10);  // one row per class
  run = run_cli("sample" + model + " --class 1 --n 4 --steps 2 --out " + scratch.file("one.png"));
  ASSERT_EQ(run.status, 0) << run.output;
  grid = fi::read_png(scratch.file("one.png"));
  EXPECT_EQ(grid.width, 2 + 2 * 10);
  EXPECT_EQ(grid.height, 2 + 2 * 10);

  expect_usage_error("sample" + model + " --class 2 --out " + scratch.file("x.png"), "--class");
  expect_usage_error("sample" + model + " --class shoe --out " + scratch.file("x.png"), "shoe");
  expect_usage_error("sample" + model + " --out " + scratch.file("x.csv"), ".png");
  expect_usage_error("eval" + model + " --json", "--classifier");
  expect_usage_error("translate" + model + " --input " + scratch.file("all.png") + " --out " +
                         scratch.file("t.png"),
                     "does not translate");
  EXPECT_FALSE(fs::exists(scratch.file("x.png")));
}

TEST(ImageCli, TranslateChecksItsInputsAndWritesOnePicturePerInput) {
  const fi::testing::TempDir scratch("translate_cli");
  fi::RunConfig config = visprompt_config(1);
  fi::TrainOptions options;
  options.out_dir = scratch.file("model");
  fi::train_model(config, options);
  const std::string model = " --model " + scratch.file("model");
  fs::create_directories(scratch.file("in"));
  fi::write_png(scratch.file("in/a.png"), fi::Image(32, 32, 1, 0));
  fi::write_png(scratch.file("in/b.png"), fi::Image(32, 32, 1, 255));
  fi::write_png(scratch.file("big.png"), fi::Image(64, 64, 1, 0));
  fi::write_png(scratch.file("rgb.png"), fi::Image(32, 32, 3, 0));
  {
    std::ofstream text(scratch.file("notes.png"));
    text << "not a picture";
  }
  CliRun run = run_cli("translate" + model + " --steps 2 --input " + scratch.file("in/a.png") +
                       " --out " + scratch.file("a_out.png"));
  ASSERT_EQ(run.status, 0) << run.output;
  const fi::Image out = fi::read_png(scratch.file("a_out.png"));
  EXPECT_EQ(out.width, 32);
  EXPECT_EQ(out.channels, 1);
  run = run_cli("translate" + model + " --steps 2 --input " + scratch.file("in") + " --out " +
                scratch.file("outs"));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_TRUE(fs::exists(scratch.file("outs/a.png")));
  EXPECT_TRUE(fs::exists(scratch.file("outs/b.png")));

  expect_usage_error("translate" + model + " --input " + scratch.file("big.png") + " --out " +
                         scratch.file("x.png"),
                     "64x64");
  expect_usage_error("translate" + model + " --input " + scratch.file("rgb.png") + " --out " +
                         scratch.file("x.png"),
                     "3 channel");
  expect_usage_error("translate" + model + " --input " + scratch.file("notes.png") + " --out " +
                         scratch.file("x.png"),
                     "notes.png");
  // A header claiming 16384x16384 followed by nothing: refused by its size, read from the header,
  // not after (or instead of) decoding 256 MB of pixels.
  {
    std::string header = fi::encode_png(fi::Image(32, 32, 1, 0)).substr(0, 33);
    for (int at : {16, 20}) header.replace(at, 4, std::string("\x00\x00\x40\x00", 4));
    const auto crc =
        std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(header.data() + 12), 17));
    for (int i = 0; i < 4; ++i) header[29 + i] = char((crc >> (24 - 8 * i)) & 0xff);
    std::ofstream(scratch.file("huge.png"), std::ios::binary) << header;
  }
  expect_usage_error("translate" + model + " --input " + scratch.file("huge.png") + " --out " +
                         scratch.file("x.png"),
                     "is 16384x16384; the model takes 32x32");
  expect_usage_error("translate" + model + " --input /dev/zero --out " + scratch.file("x.png"),
                     "/dev/zero: not a regular file or folder");
  expect_usage_error("translate" + model + " --input " + scratch.file("none.png") + " --out " +
                         scratch.file("x.png"),
                     "none.png: no such file or folder");
  EXPECT_FALSE(fs::exists(scratch.file("x.png")));
}

TEST(ImageCli, VisPromptBenchScoresTheModelAndTheOracle) {
  const fi::testing::TempDir scratch("bench_cli");
  fi::TrainOptions options;
  options.out_dir = scratch.file("model");
  fi::train_model(visprompt_config(1), options);
  // An untrained classifier is enough to exercise the command: the bench compares its verdicts
  // on candidates and ground truths.
  fi::seed_global(1);
  fi::ImageClassifier classifier(fi::ClassifierOptions{});
  classifier.eval();
  fi::save_classifier(scratch.file("clf"), classifier, 0.0);
  const std::string base = "eval --model " + scratch.file("model") + " --bench visprompt --n 2 ";
  CliRun run = run_cli(base + "--classifier " + scratch.file("clf") + " --steps 1 --json");
  ASSERT_EQ(run.status, 0) << run.output;
  for (const char* key : {"\"pass_rate\"", "\"mode\":\"bridge\"", "\"steps\":1", "\"class2image\"",
                          "\"trajectory\"", "\"nfe\":1"}) {
    EXPECT_NE(run.output.find(key), std::string::npos) << key << " in " << run.output;
  }
  run = run_cli(base + "--classifier " + scratch.file("clf") + " --oracle --json");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("{\"classifier_test_accuracy\":0.0,\"mode\":\"oracle\""),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("\"n\":16,\"pass_rate\":1.0"), std::string::npos) << run.output;

  expect_usage_error(base + "--json", "--classifier");
  expect_usage_error("eval --model " + scratch.file("model") + " --bench nonsense --classifier " +
                         scratch.file("clf"),
                     "nonsense");
  expect_usage_error("eval --model " + scratch.file("model") + " --oracle", "--oracle");
}

TEST(ImageTraining, ClassConditionalImageFlowTrainsResumesAndSamplesEveryClass) {
  const fi::testing::TempDir data("image_flow_data");
  write_class_folder(data.path());
  fi::RunConfig config = folder_config(data.path(), 4);
  config.model = "glow";
  config.width = 8;
  config.flow_layers = 1;
  config.flow_levels = 1;  // 8 -> 4
  config.grad_clip = 50;
  expect_exact_resume(config, 2);

  const fi::testing::TempDir scratch("image_flow_model");
  fi::TrainOptions options;
  options.out_dir = scratch.path();
  const fi::TrainResult result = fi::train_model(config, options);
  EXPECT_TRUE(std::isfinite(result.final_loss));
  const fi::LoadedModel loaded = fi::load_model_dir(scratch.path(), torch::kCPU);
  ASSERT_EQ(loaded.model->describe().family, fi::ModelFamily::kNormalizingFlow);
  fi::GenerationOptions generation;
  generation.temperature = 0.7;
  generation.seed = 3;
  const torch::Tensor labels = torch::tensor({0, 1, 1}, torch::kInt64);
  const torch::Tensor samples = loaded.model->sample(3, labels, generation).x;
  EXPECT_EQ(samples.sizes(), (std::vector<std::int64_t>{3, 3, 8, 8}));
  EXPECT_TRUE(
      torch::isfinite(loaded.model->log_prob(samples, labels, {}).log_p).all().item<bool>());
}

// `eval` samples a class-conditional flow class by class and scores its class accuracy, as it
// does for a conditional velocity model (an untrained classifier is enough to run the command).
TEST(ImageCli, EvalScoresAClassConditionalFlowByClass) {
  if (!fi::fashion_mnist_available()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const fi::testing::TempDir scratch("cond_flow_eval");
  CliRun run = run_cli(
      "train --preset cond-glow-fmnist --set width=8 --set flow_layers=1 --set flow_levels=1 "
      "--set batch_size=4 --set sample_every=0 --steps 2 --out " +
      scratch.file("model"));
  ASSERT_EQ(run.status, 0) << run.output;
  fi::ImageClassifier classifier(fi::ClassifierOptions{});
  classifier.eval();
  fi::save_classifier(scratch.file("clf"), classifier, 0.0);
  run = run_cli("eval --model " + scratch.file("model") + " --classifier " + scratch.file("clf") +
                " --n 20 --json");
  ASSERT_EQ(run.status, 0) << run.output;
  const std::string last = run.output.substr(run.output.rfind('{'));
  const auto json = nlohmann::json::parse(last);
  ASSERT_TRUE(json.contains("class_accuracy")) << last;
  EXPECT_GE(json["class_accuracy"].get<double>(), 0.0);
  EXPECT_LE(json["class_accuracy"].get<double>(), 1.0);
  EXPECT_EQ(json["model"], "glow");
}

// `likelihood` on pictures reports one density for both families, on the 8-bit scale: a flow's
// (its Dequantize layer counts the scaling) and a flow-matching UNet's (rescaled from [-1, 1]).
// Its nll_nats is then bits_per_dim * D ln 2 in both.
TEST(ImageCli, LikelihoodReportsNatsAndBitsOnTheSameScaleForBothFamilies) {
  const fi::testing::TempDir data("likelihood_images");
  write_class_folder(data.path());
  const fi::testing::TempDir scratch("likelihood_models");
  fi::RunConfig unet = folder_config(data.path(), 2);
  fi::RunConfig glow = unet;
  glow.model = "glow";
  glow.width = 8;
  glow.flow_layers = 1;
  glow.flow_levels = 1;
  glow.grad_clip = 50;
  for (const auto& [name, config] : {std::make_pair("unet", unet), std::make_pair("glow", glow)}) {
    fi::TrainOptions options;
    options.out_dir = scratch.file(name);
    fi::train_model(config, options);
    const CliRun run = run_cli("likelihood --model " + scratch.file(name) +
                               " --n 6 --solver rk4 --steps 2 --json");
    ASSERT_EQ(run.status, 0) << run.output;
    const auto json = nlohmann::json::parse(run.output.substr(run.output.rfind('{')));
    const double nats_per_bit = 3 * 8 * 8 * std::log(2.0);
    EXPECT_EQ(json["dim"], 3 * 8 * 8) << name;
    EXPECT_EQ(json["count"], 6) << name;
    EXPECT_NEAR(json["nll_nats"].get<double>(), json["bits_per_dim"].get<double>() * nats_per_bit,
                1e-9 * std::abs(json["nll_nats"].get<double>()))
        << name << ": " << run.output;
    EXPECT_NEAR(json["nll_stderr"].get<double>(),
                json["bits_per_dim_stderr"].get<double>() * nats_per_bit, 1e-9)
        << name;
    // An untrained model puts at most a few bits per dimension more than uniform noise (8).
    EXPECT_GT(json["bits_per_dim"].get<double>(), 0.5) << name;
    EXPECT_LT(json["bits_per_dim"].get<double>(), 30.0) << name;
  }
}

TEST(ImageTraining, PairedFoldersTrainAsABridgeAndResumeExactly) {
  // Six pairs: a dark picture with a bright dot (A) -> the dot grown to a square (B).
  const fi::testing::TempDir data("pairs_data");
  fs::create_directories(data.file("A"));
  fs::create_directories(data.file("B"));
  for (int i = 0; i < 6; ++i) {
    fi::Image input(8, 8, 1, 0), output(8, 8, 1, 0);
    input.at(1 + i % 5, 2)[0] = 255;
    for (int y = 1; y < 4; ++y)
      for (int x = i % 5; x < i % 5 + 3; ++x) output.at(x, y)[0] = 255;
    fi::write_png(data.file("A/p" + std::to_string(i) + ".png"), input);
    fi::write_png(data.file("B/p" + std::to_string(i) + ".png"), output);
  }
  fi::RunConfig config = visprompt_config(4);
  config.target = "pairs";
  config.data_dir = data.path();
  config.image_size = 8;
  config.channels = 1;
  config.batch_size = 2;
  config.num_workers = 1;
  EXPECT_EQ(fi::condition_channels(config), 1);
  expect_exact_resume(config, 2);
}
