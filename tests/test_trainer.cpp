#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/eval/metrics2d.h"
#include "flowinone/generative/generate.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/generative/model_registry.h"
#include "flowinone/generative/normalizing_flow_model.h"
#include "flowinone/io/safetensors.h"
#include "flowinone/train/trainer.h"
#include "temp_dir.h"

namespace fs = std::filesystem;

namespace {

fi::RunConfig small_config(std::int64_t steps) {
  fi::RunConfig config;
  config.target = "checkerboard";
  config.width = 64;
  config.depth = 3;
  config.steps = steps;
  config.batch_size = 256;
  config.lr = 3e-3;
  config.warmup_steps = 20;
  config.ema_decay = 0.99;
  config.checkpoint_every = 1000000;
  config.log_every = 10;
  config.seed = 3;
  config.device = "cpu";
  return config;
}

double in_square_fraction(const fi::GenerativeModelPtr& model, const fi::RunConfig& config) {
  fi::GenerationOptions options;
  options.solve.num_steps = 50;
  options.seed = 11;
  const auto samples = model->sample(4000, {}, options).x;
  return fi::checkerboard_metrics(samples, fi::Checkerboard(4)).in_square_fraction;
}

// 100 points of the model integrated with `solve` from source noise drawn with `seed`.
torch::Tensor sample(fi::GenerativeModel& model, const fi::SolveOptions& solve,
                     std::uint64_t seed) {
  fi::GenerationOptions options;
  options.solve = solve;
  options.seed = seed;
  return model.sample(100, {}, options).x;
}

}  // namespace

TEST(Trainer, ShortRunLowersLossAndLearnsTheBoard) {
  const fi::RunConfig config = small_config(2500);
  fi::Trainer trainer(config, torch::kCPU);
  const double untrained = in_square_fraction(trainer.averaged_model(), config);
  double first_losses = 0, last_losses = 0;
  for (int i = 0; i < 2500; ++i) {
    const double loss = trainer.step().item<double>();
    if (i < 100) first_losses += loss;
    if (i >= 2400) last_losses += loss;
  }
  EXPECT_LT(last_losses, 0.9 * first_losses);
  const double trained = in_square_fraction(trainer.averaged_model(), config);
  // About 0.5 untrained (the Gaussian covers filled and empty squares alike).
  EXPECT_GT(trained, untrained + 0.15) << "untrained " << untrained << " trained " << trained;
}

TEST(Trainer, X1PredictionLearnsTheBoardAndReloads) {
  fi::RunConfig config = small_config(2500);
  config.prediction = "x1";
  fi::Trainer trainer(config, torch::kCPU);
  const double untrained = in_square_fraction(trainer.averaged_model(), config);
  for (int i = 0; i < 2500; ++i) trainer.step();
  const double trained = in_square_fraction(trainer.averaged_model(), config);
  EXPECT_GT(trained, untrained + 0.15) << "untrained " << untrained << " trained " << trained;

  // The wrapper's parameters (net.*) go to the model directory and come back.
  const fi::testing::TempDir scratch("trainer-x1");
  fi::TrainOptions options;
  options.out_dir = scratch.file("model");
  config.steps = 20;
  fi::train_model(config, options);
  const fi::LoadedModel a = fi::load_model_dir(options.out_dir, torch::kCPU);
  const fi::LoadedModel b = fi::load_model_dir(options.out_dir, torch::kCPU);
  EXPECT_EQ(a.config.prediction, "x1");
  EXPECT_TRUE(a.model->module().named_parameters().contains("net.output.weight"));
  fi::SolveOptions solve;
  solve.num_steps = 10;
  EXPECT_TRUE(torch::equal(sample(*a.model, solve, 5), sample(*b.model, solve, 5)));
}

TEST(Trainer, ResumedRunEndsWithTheSameWeights) {
  const fi::testing::TempDir scratch("trainer");
  const std::string straight = scratch.file("straight"), resumed = scratch.file("resumed");
  // With Fourier features, so the buffer's path into the saved files is checked as well.
  fi::RunConfig config = small_config(40);
  config.fourier_features = 8;
  fi::TrainOptions options;
  options.out_dir = straight;
  fi::train_model(config, options);

  options.out_dir = resumed;
  fi::TrainCallbacks stop_early;
  int polls = 0;
  stop_early.should_stop = [&] { return ++polls > 17; };  // stops after 17 steps
  const auto partial = fi::train_model(config, options, stop_early);
  EXPECT_TRUE(partial.stopped_early);
  EXPECT_EQ(partial.steps_done, 17);
  options.resume = true;
  const auto rest = fi::train_model(config, options);
  EXPECT_EQ(rest.steps_done, 40);

  const auto a = fi::load_safetensors(straight + "/model.safetensors").tensors;
  const auto b = fi::load_safetensors(resumed + "/model.safetensors").tensors;
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  const auto state_a = fi::load_safetensors(straight + "/checkpoint/state.safetensors").tensors;
  const auto state_b = fi::load_safetensors(resumed + "/checkpoint/state.safetensors").tensors;
  for (const auto& [name, tensor] : state_a)
    EXPECT_TRUE(torch::equal(tensor, state_b.at(name))) << name;
  // The sampling model carries the training model's fixed frequencies, not fresh ones.
  EXPECT_TRUE(torch::equal(a.at("fourier_frequencies"), state_a.at("model.fourier_frequencies")));
}

TEST(Trainer, ResumeRefusesAChangedConfiguration) {
  const fi::testing::TempDir scratch("trainer");
  const std::string dir = scratch.file("model");
  fi::TrainOptions options;
  options.out_dir = dir;
  fi::train_model(small_config(5), options);
  options.resume = true;
  fi::RunConfig changed = small_config(10);
  changed.width = 32;
  EXPECT_THROW(fi::train_model(changed, options), std::invalid_argument);
}

TEST(Trainer, ShardedStepsDoNotDependOnThreadsAndFollowTheWholeBatch) {
  const int saved_threads = at::get_num_threads();
  fi::RunConfig config = small_config(30);
  config.fourier_features = 8;
  auto train = [&](std::int64_t shards, int threads) {
    at::set_num_threads(threads);
    fi::RunConfig c = config;
    c.shards = shards;
    fi::Trainer trainer(c, torch::kCPU);
    std::vector<double> losses;
    for (int i = 0; i < 30; ++i) losses.push_back(trainer.step().item<double>());
    std::vector<torch::Tensor> weights;
    for (const auto& p : trainer.averaged_model()->module().parameters())
      weights.push_back(p.clone());
    return std::make_pair(losses, weights);
  };
  const auto one_thread = train(3, 1);
  const auto two_threads = train(3, 2);
  const auto whole = train(1, 2);
  at::set_num_threads(saved_threads);
  // The same bits whatever the thread count...
  EXPECT_EQ(one_thread.first, two_threads.first);
  ASSERT_EQ(one_thread.second.size(), two_threads.second.size());
  for (std::size_t i = 0; i < one_thread.second.size(); ++i)
    EXPECT_TRUE(torch::equal(one_thread.second[i], two_threads.second[i])) << i;
  // ...and the whole batch's objective, up to the order of float sums.
  for (std::size_t i = 0; i < whole.first.size(); ++i)
    EXPECT_NEAR(one_thread.first[i], whole.first[i], 1e-4 * whole.first[i]) << "step " << i;
}

TEST(Trainer, ModelDirectoryLoadsBackAndSamplesReproducibly) {
  const fi::testing::TempDir scratch("trainer");
  const std::string dir = scratch.file("model");
  fi::TrainOptions options;
  options.out_dir = dir;
  fi::train_model(small_config(20), options);
  EXPECT_TRUE(fs::exists(dir + "/config.toml"));
  EXPECT_TRUE(fs::exists(dir + "/train_log.csv"));
  const fi::LoadedModel a = fi::load_model_dir(dir, torch::kCPU);
  const fi::LoadedModel b = fi::load_model_dir(dir, torch::kCPU);
  EXPECT_EQ(a.step, 20);
  EXPECT_EQ(a.config.width, 64);
  fi::SolveOptions solve;
  solve.num_steps = 10;
  const auto x = sample(*a.model, solve, 5);
  const auto y = sample(*b.model, solve, 5);
  const auto z = sample(*b.model, solve, 6);
  EXPECT_TRUE(torch::equal(x, y));
  EXPECT_FALSE(torch::equal(x, z));
}

TEST(Trainer, LoadRefusesNonFiniteWeightsNamingTheTensor) {
  const fi::testing::TempDir scratch("trainer_nan");
  fi::RunConfig config = small_config(1);
  const fi::GenerativeModelPtr model = fi::build_generative_model(config);
  {
    torch::NoGradGuard no_grad;
    model->module().named_parameters()["output.weight"].view(-1)[0] = NAN;
  }
  fi::save_model_dir(scratch.path(), model->module(), config, 1);
  try {
    fi::load_model_dir(scratch.path(), torch::kCPU);
    FAIL() << "a NaN weight was accepted";
  } catch (const fi::FileError& error) {
    EXPECT_NE(std::string(error.what()).find("'output.weight' holds non-finite values"),
              std::string::npos)
        << error.what();
  }
}

TEST(Trainer, LoadRejectsMissingDirectoryAndForeignFiles) {
  EXPECT_THROW(fi::load_model_dir("/nonexistent/fi_model", torch::kCPU), fi::FileError);
  const fi::testing::TempDir scratch("trainer");
  const std::string dir = scratch.file("model");
  fs::create_directories(dir);
  fi::save_safetensors(dir + "/model.safetensors", {{"w", torch::zeros({2})}});
  EXPECT_THROW(fi::load_model_dir(dir, torch::kCPU), fi::FileError);
}

TEST(Trainer, EveryCouplingAndPathTrainsDataToData) {
  for (const char* coupling : {"independent", "ot-exact", "ot-sinkhorn"}) {
    for (const char* path : {"straight", "vp", "bridge"}) {
      fi::RunConfig config = small_config(5);
      config.source = "8gaussians";
      config.target = "moons";
      config.coupling = coupling;
      config.path = path;
      config.sigma = 0.1;
      config.batch_size = 32;
      fi::Trainer trainer(config, torch::kCPU);
      double loss = 0;
      for (int i = 0; i < 5; ++i) loss = trainer.step().item<double>();
      EXPECT_TRUE(std::isfinite(loss)) << coupling << " " << path;
    }
  }
}

TEST(Trainer, ExactOtCouplingLowersTheRegressionTarget) {
  // Pairing by minibatch OT shortens x1 - x0: the loss of an untrained model, dominated by
  // E||x1 - x0||^2, is smaller than with independent pairs.
  auto first_loss = [](const char* coupling) {
    fi::RunConfig config = small_config(1);
    config.source = "8gaussians";
    config.target = "moons";
    config.coupling = coupling;
    config.batch_size = 256;
    fi::Trainer trainer(config, torch::kCPU);
    return trainer.step().item<double>();
  };
  EXPECT_LT(first_loss("ot-exact"), 0.5 * first_loss("independent"));
}

namespace {

fi::RunConfig small_flow_config(const std::string& model, std::int64_t steps) {
  fi::RunConfig config = small_config(steps);
  config.model = model;
  config.width = 32;
  config.flow_layers = 4;
  config.flow_hidden_layers = 1;
  return config;
}

double held_out_nll(fi::Flow& flow, const fi::RunConfig& config) {
  torch::NoGradGuard no_grad;
  return -flow.log_prob(fi::sample_target(config, 2000, 77)).mean().item<double>();
}

}  // namespace

TEST(Trainer, NormalizingFlowsLowerTheirHeldOutNll) {
  for (const std::string model : {"realnvp", "maf"}) {
    const fi::testing::TempDir scratch("trainer_flow");
    const fi::RunConfig config = small_flow_config(model, 150);
    fi::seed_global(static_cast<std::uint64_t>(config.seed));
    const fi::FlowPtr untrained = fi::build_flow_model(config);
    untrained->initialize(fi::sample_target(config, 512, 5));  // ActNorm, as the trainer does
    fi::TrainOptions options;
    options.out_dir = scratch.file("flow");
    const auto result = fi::train_model(config, options);
    EXPECT_EQ(result.steps_done, 150);
    const fi::LoadedModel loaded = fi::load_model_dir(options.out_dir, torch::kCPU);
    const auto flow = std::dynamic_pointer_cast<fi::NormalizingFlowModel>(loaded.model);
    ASSERT_TRUE(flow) << model;
    EXPECT_EQ(loaded.model->describe().family, fi::ModelFamily::kNormalizingFlow) << model;
    const double before = held_out_nll(*untrained, config);
    const double after = held_out_nll(*flow->flow(), config);
    EXPECT_LT(after, before - 0.2) << model;
    EXPECT_TRUE(std::isfinite(after)) << model;
  }
}

TEST(Trainer, ResumedFlowEndsWithTheSameWeights) {
  const fi::testing::TempDir scratch("trainer_flow_resume");
  const fi::RunConfig config = small_flow_config("realnvp", 30);
  fi::TrainOptions options;
  options.out_dir = scratch.file("straight");
  fi::train_model(config, options);
  options.out_dir = scratch.file("resumed");
  fi::TrainCallbacks stop_early;
  int polls = 0;
  stop_early.should_stop = [&] { return ++polls > 11; };
  EXPECT_TRUE(fi::train_model(config, options, stop_early).stopped_early);
  options.resume = true;
  EXPECT_EQ(fi::train_model(config, options).steps_done, 30);
  const auto a = fi::load_safetensors(scratch.file("straight") + "/model.safetensors");
  const auto b = fi::load_safetensors(scratch.file("resumed") + "/model.safetensors");
  EXPECT_EQ(a.metadata.at("format"), "flowinone-flow-1");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, tensor] : a.tensors)
    EXPECT_TRUE(torch::equal(tensor, b.tensors.at(name))) << name;
}

TEST(Trainer, FlowConfigurationsAreChecked) {
  fi::RunConfig config = small_flow_config("realnvp", 10);
  config.source = "8gaussians";  // a flow's base density is the Gaussian
  EXPECT_THROW(fi::validate_config(config), std::invalid_argument);
  config = small_flow_config("realnvp", 10);
  config.flow_layers = 0;
  EXPECT_THROW(fi::validate_config(config), std::invalid_argument);
  config = small_flow_config("glowworm", 10);
  try {
    fi::validate_config(config);
    FAIL() << "an unknown model passed";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("realnvp, maf"), std::string::npos) << error.what();
  }
}
