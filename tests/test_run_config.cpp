#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "flowinone/core/errors.h"
#include "flowinone/generative/run_config.h"

TEST(RunConfig, TomlAndJsonRoundTripEveryKey) {
  fi::RunConfig config;
  config.target = "moons";
  config.sigma = 0.125;
  config.width = 64;
  config.lr = 3.5e-4;
  const fi::RunConfig from_toml = fi::config_from_toml(fi::config_to_toml(config), "test");
  const fi::RunConfig from_json = fi::config_from_json(fi::config_to_json(config));
  for (const auto& key : fi::config_keys()) {
    EXPECT_EQ(fi::get_config_value(from_toml, key.name), fi::get_config_value(config, key.name))
        << key.name;
    EXPECT_EQ(fi::get_config_value(from_json, key.name), fi::get_config_value(config, key.name))
        << key.name;
  }
}

TEST(RunConfig, SetChecksKeysAndTypes) {
  fi::RunConfig config;
  fi::apply_config_assignment(config, "sigma=0.1");
  EXPECT_DOUBLE_EQ(config.sigma, 0.1);
  fi::apply_config_assignment(config, "width=32");
  EXPECT_EQ(config.width, 32);
  EXPECT_THROW(fi::apply_config_assignment(config, "width=wide"), std::invalid_argument);
  EXPECT_THROW(fi::apply_config_assignment(config, "width=3.5"), std::invalid_argument);
  EXPECT_THROW(fi::apply_config_assignment(config, "sigma=nan"), std::invalid_argument);
  EXPECT_THROW(fi::apply_config_assignment(config, "no_equals_sign"), std::invalid_argument);
  try {
    fi::apply_config_assignment(config, "colour=red");
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("colour"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("sigma"), std::string::npos);  // lists valid keys
  }
}

TEST(RunConfig, ValidationNamesTheKey) {
  fi::RunConfig config;
  EXPECT_NO_THROW(fi::validate_config(config));
  auto expect_invalid = [](fi::RunConfig c, const std::string& key) {
    try {
      fi::validate_config(c);
      FAIL() << key;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(key), std::string::npos) << error.what();
    }
  };
  fi::RunConfig bad = config;
  bad.target = "cheese";
  expect_invalid(bad, "target");
  bad = config;
  bad.steps = 0;
  expect_invalid(bad, "steps");
  bad = config;
  bad.sample_solver = "leapfrog";
  expect_invalid(bad, "leapfrog");
  bad = config;
  bad.time_dim = 3;
  expect_invalid(bad, "time_dim");
  bad = config;
  bad.coupling = "ot-greedy";
  expect_invalid(bad, "ot-greedy");
  bad = config;
  bad.reg = 0;
  expect_invalid(bad, "reg");
  bad = config;
  bad.path = "bridge";  // needs sigma > 0
  expect_invalid(bad, "sigma");
  bad.sigma = 0.1;
  EXPECT_NO_THROW(fi::validate_config(bad));
  bad = config;
  bad.path = "target";
  bad.source = "moons";  // the target path needs a Gaussian source
  expect_invalid(bad, "moons");
  bad = config;
  bad.prediction = "noise";
  expect_invalid(bad, "prediction");
  bad = config;
  bad.prediction = "x1";
  bad.x1_floor = 0;
  expect_invalid(bad, "x1_floor");
  bad = config;
  bad.shards = 0;
  expect_invalid(bad, "shards");
  bad.shards = config.batch_size + 1;
  expect_invalid(bad, "shards");
  bad.shards = 2;
  EXPECT_NO_THROW(fi::validate_config(bad));
  bad.model = "realnvp";  // a flow's likelihood step is not sharded
  expect_invalid(bad, "shards");
}

TEST(RunConfig, MalformedTomlIsAFileError) {
  EXPECT_THROW(fi::config_from_toml("width = = 3", "bad.toml"), fi::FileError);
  EXPECT_THROW(fi::config_from_toml("[table]\nwidth = 3", "bad.toml"), std::invalid_argument);
  EXPECT_THROW(fi::config_from_toml("unknown_key = 3", "bad.toml"), std::invalid_argument);
}

// Non-ASCII outside strings and comments is refused before toml++ sees it (its 3.3.0 reaches
// __builtin_unreachable on some: fuzz/known/toml_unreachable.toml); inside them UTF-8 is kept.
// A --set value that is not UTF-8 is refused at once rather than when the model's JSON is written.
TEST(RunConfig, NonAsciiTokensAndNonUtf8ValuesAreRefused) {
  try {
    fi::config_from_toml("width = 8\n\xc9\xb4 = 3\n", "odd.toml");
    FAIL() << "expected a FileError";
  } catch (const fi::FileError& error) {
    EXPECT_NE(std::string(error.what()).find("line 2"), std::string::npos) << error.what();
  }
  EXPECT_THROW(fi::config_from_toml("width = 8\xe3\x80\x80", "odd.toml"), fi::FileError);
  const fi::RunConfig kept = fi::config_from_toml(
      "# caf\xc3\xa9\ndata_dir = \"photos/caf\xc3\xa9\" # \xc3\xa9\nsample_solver = 'rk4'\n"
      "target = \"\"\"moons\"\"\"\n",
      "utf8.toml");
  EXPECT_EQ(kept.data_dir, "photos/caf\xc3\xa9");
  EXPECT_EQ(kept.sample_solver, "rk4");
  EXPECT_EQ(kept.target, "moons");
  fi::RunConfig config;
  EXPECT_THROW(fi::apply_config_assignment(config, "unet=\xff"), std::invalid_argument);
  fi::apply_config_assignment(config, "data_dir=caf\xc3\xa9");
  EXPECT_EQ(config.data_dir, "caf\xc3\xa9");
}

TEST(RunConfig, PresetsLoadAndValidate) {
  const auto names = fi::preset_names();
  ASSERT_FALSE(names.empty());
  for (const auto& name : names)
    EXPECT_NO_THROW(fi::validate_config(fi::load_preset(name))) << name;
  EXPECT_EQ(fi::load_preset("checkerboard").target, "checkerboard");
  EXPECT_EQ(fi::load_preset("checkerboard-fine").target, "checkerboard-fine");
  EXPECT_THROW(fi::load_preset("no-such-preset"), std::invalid_argument);
}
