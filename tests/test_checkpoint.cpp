// A tampered or damaged checkpoint must be refused before training resumes on it, naming what is
// wrong, and must leave the model file as it was; a diverged run must not write NaN weights.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "cli_run.h"
#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/io/safetensors.h"
#include "flowinone/train/checkpoint.h"
#include "flowinone/train/trainer.h"
#include "temp_dir.h"

namespace {

fi::RunConfig tiny_config(std::int64_t steps) {
  fi::RunConfig config;
  config.target = "checkerboard";
  config.width = 16;
  config.depth = 2;
  config.steps = steps;
  config.batch_size = 64;
  config.checkpoint_every = 1000000;
  config.log_every = 1;
  config.seed = 5;
  config.device = "cpu";
  return config;
}

using Edit =
    std::function<void(std::map<std::string, torch::Tensor>&, std::map<std::string, std::string>&)>;

// A directory trained for 3 steps whose checkpoint is then edited by `edit`.
class TamperedCheckpoint {
 public:
  explicit TamperedCheckpoint(const Edit& edit) : scratch_("checkpoint") {
    fi::TrainOptions options;
    options.out_dir = dir();
    fi::train_model(tiny_config(3), options);
    model_bytes_ = fi::read_file(dir() + "/model.safetensors");
    fi::SafetensorsContents contents = fi::load_safetensors(fi::checkpoint_path(dir()));
    edit(contents.tensors, contents.metadata);
    fi::NamedTensors tensors(contents.tensors.begin(), contents.tensors.end());
    fi::save_safetensors(fi::checkpoint_path(dir()), tensors, contents.metadata);
  }
  std::string dir() const { return scratch_.file("model"); }
  bool model_unchanged() const {
    return fi::read_file(dir() + "/model.safetensors") == model_bytes_;
  }

  // The message of the FileError that resuming to 6 steps throws ("" when none is thrown).
  std::string resume_error() const {
    fi::TrainOptions options;
    options.out_dir = dir();
    options.resume = true;
    try {
      fi::train_model(tiny_config(6), options);
    } catch (const fi::FileError& error) {
      return error.what();
    }
    return "";
  }

 private:
  fi::testing::TempDir scratch_;
  std::string model_bytes_;
};

void expect_refused(const Edit& edit, const std::string& expected) {
  const TamperedCheckpoint checkpoint(edit);
  const std::string message = checkpoint.resume_error();
  EXPECT_NE(message.find(expected), std::string::npos) << "message: " << message;
  EXPECT_TRUE(checkpoint.model_unchanged());
}

void set_first(std::map<std::string, torch::Tensor>& tensors, const std::string& name,
               double value) {
  tensors.at(name).view(-1)[0] = value;
}

}  // namespace

TEST(Checkpoint, AnUntouchedCheckpointResumes) {
  const TamperedCheckpoint checkpoint([](auto&, auto&) {});
  EXPECT_EQ(checkpoint.resume_error(), "");
  EXPECT_EQ(fi::load_checkpoint(checkpoint.dir()).step, 6);
}

TEST(Checkpoint, NonFiniteTensorsAreRefusedByName) {
  expect_refused([](auto& t, auto&) { set_first(t, "adam.m.0", NAN); },
                 "tensor 'adam.m.0' holds non-finite values");
  expect_refused([](auto& t, auto&) { set_first(t, "adam.v.1", INFINITY); },
                 "tensor 'adam.v.1' holds non-finite values");
  expect_refused([](auto& t, auto&) { set_first(t, "ema.2", -INFINITY); },
                 "tensor 'ema.2' holds non-finite values");
  expect_refused([](auto& t, auto&) { set_first(t, "model.output.weight", NAN); },
                 "tensor 'model.output.weight' holds non-finite values");
}

TEST(Checkpoint, CountersOutOfRangeOrInconsistentAreRefused) {
  expect_refused([](auto& t, auto&) { t["adam.step"] = torch::tensor({-5}, torch::kInt64); },
                 "'adam.step' is -5, expected a count >= 0");
  expect_refused([](auto& t, auto&) { t["adam.step"] = torch::tensor({2}, torch::kInt64); },
                 "adam.step is 2 but the checkpoint is at step 3");
  expect_refused([](auto& t, auto&) { t["adam.step"] = torch::tensor({3.0}); },
                 "lacks 'adam.step' as one int64");
  expect_refused([](auto& t, auto&) { t["ema.num_updates"] = torch::tensor({-7}, torch::kInt64); },
                 "'ema.num_updates' is -7, expected a count >= 0");
  expect_refused([](auto& t, auto&) { t["ema.num_updates"] = torch::tensor({9}, torch::kInt64); },
                 "ema.num_updates is 9 but the checkpoint is at step 3");
  expect_refused([](auto& t, auto&) { set_first(t, "adam.v.0", -1.0); },
                 "'adam.v.0' holds negative values");
}

TEST(Checkpoint, MetadataStepMustBeANonNegativeInteger) {
  for (const std::string step : {"-1", "x", "", " 3", "3.0", "99999999999999999999"}) {
    const TamperedCheckpoint checkpoint([&](auto&, auto& m) { m["step"] = step; });
    const std::string message = checkpoint.resume_error();
    EXPECT_NE(message.find("metadata 'step' is '" + step + "', expected a non-negative integer"),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("stoll"), std::string::npos) << message;
    EXPECT_TRUE(checkpoint.model_unchanged());
  }
  // A step that the counters agree with but that differs from the truth is still refused.
  expect_refused([](auto&, auto& m) { m["step"] = "1"; },
                 "adam.step is 3 but the checkpoint is at step 1");
}

TEST(Checkpoint, HostileBytesInMetadataAreEscaped) {
  const TamperedCheckpoint checkpoint([](auto&, auto& m) { m["step"] = "\x1b]0;owned\x07"; });
  const std::string message = checkpoint.resume_error();
  EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
  EXPECT_NE(message.find("\\x1b]0;owned\\x07"), std::string::npos) << message;
}

TEST(Checkpoint, DivergedTrainingKeepsTheLastGoodModel) {
  // Finite but enormous weights pass every check, then overflow to NaN within a step.
  const TamperedCheckpoint checkpoint([](auto& t, auto&) {
    for (auto& [name, tensor] : t) {
      if (tensor.is_floating_point() && name.rfind("adam.", 0) != 0) tensor.fill_(3e38);
    }
  });
  fi::TrainOptions options;
  options.out_dir = checkpoint.dir();
  options.resume = true;
  try {
    fi::train_model(tiny_config(6), options);
    FAIL() << "a diverged run wrote its weights";
  } catch (const fi::FileError& error) {
    FAIL() << "the tampered checkpoint was refused: " << error.what();
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("[train] step 6: '"), std::string::npos) << message;
    EXPECT_NE(message.find("holds NaN or Inf"), std::string::npos) << message;
    EXPECT_NE(message.find("keeps the model and checkpoint of step 3"), std::string::npos)
        << message;
  }
  EXPECT_TRUE(checkpoint.model_unchanged());
  EXPECT_EQ(fi::load_checkpoint(checkpoint.dir()).step, 3);
}

TEST(Checkpoint, TheProgramRefusesATamperedCheckpointWithStatus2) {
  const TamperedCheckpoint checkpoint([](auto& t, auto&) { set_first(t, "adam.m.1", NAN); });
  const fi::testing::CliRun run =
      fi::testing::run_cli("train --resume --out " + checkpoint.dir() + " --steps 6");
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_NE(run.output.find("'adam.m.1' holds non-finite values"), std::string::npos) << run.output;
  EXPECT_TRUE(checkpoint.model_unchanged());
}
