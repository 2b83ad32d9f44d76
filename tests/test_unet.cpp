#include <gtest/gtest.h>

#include <algorithm>

#include "flowinone/generative/model_dir.h"
#include "flowinone/models/mlp.h"
#include "flowinone/models/unet.h"
#include "flowinone/models/unet_blocks.h"

namespace {

// A tiny UNet: two levels (one down-sampling), attention at the lower one, 8 base channels.
fi::UNetOptions tiny_options() {
  fi::UNetOptions options;
  options.base_channels = 8;
  options.channel_mults = {1, 2};
  options.num_res_blocks = 1;
  options.attention_levels = {1};
  options.num_heads = 2;
  options.norm_groups = 4;
  options.zero_init = false;  // so that every input reaches the output at initialization
  return options;
}

torch::Tensor max_abs_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max();
}

}  // namespace

TEST(UNet, OutputShapeEqualsInputShapeForSizesAndChannels) {
  torch::manual_seed(0);
  struct Case {
    std::int64_t channels, condition_channels, height, width;
    std::vector<std::int64_t> mults;
  };
  const std::vector<Case> cases = {
      {1, 0, 28, 28, {1, 2, 2}},  // Fashion-MNIST: 28 -> 14 -> 7
      {1, 0, 32, 32, {1, 2}},    {3, 0, 32, 32, {1, 2, 2}},
      {3, 2, 28, 28, {1, 2, 2}},  // image condition concatenated to the input
      {1, 1, 30, 30, {1, 2, 2}},  // padded internally to 32
      {2, 0, 7, 5, {1, 2, 2}},    // odd and non-square
  };
  for (const auto& c : cases) {
    auto options = tiny_options();
    options.in_channels = options.out_channels = c.channels;
    options.condition_channels = c.condition_channels;
    options.channel_mults = c.mults;
    options.attention_levels = {static_cast<int>(c.mults.size()) - 1};
    fi::UNetVelocity model(options);
    const auto x = torch::randn({2, c.channels, c.height, c.width});
    fi::Conditioning cond;
    if (c.condition_channels > 0)
      cond.image = torch::randn({2, c.condition_channels, c.height, c.width});
    const auto v = model.forward(x, torch::rand({2}), cond);
    EXPECT_EQ(v.sizes(), x.sizes())
        << "channels " << c.channels << ", " << c.height << "x" << c.width;
    EXPECT_TRUE(torch::isfinite(v).all().item<bool>());
  }
}

TEST(UNet, TimeClassAndImageChangeTheOutput) {
  torch::manual_seed(1);
  auto options = tiny_options();
  options.num_classes = 3;
  options.condition_channels = 1;
  fi::UNetVelocity model(options);
  model.eval();
  const auto x = torch::randn({2, 1, 12, 12});
  fi::Conditioning cond;
  cond.labels = torch::tensor({0, 2}, torch::kInt64);
  cond.image = torch::randn({2, 1, 12, 12});
  const auto reference = model.forward(x, torch::full({2}, 0.3f), cond);

  EXPECT_GT(
      max_abs_difference(reference, model.forward(x, torch::full({2}, 0.7f), cond)).item<float>(),
      1e-4f);
  auto other_labels = cond;
  other_labels.labels = torch::tensor({1, 0}, torch::kInt64);
  const auto relabelled = model.forward(x, torch::full({2}, 0.3f), other_labels);
  EXPECT_GT(max_abs_difference(reference[0], relabelled[0]).item<float>(), 1e-4f);
  EXPECT_GT(max_abs_difference(reference[1], relabelled[1]).item<float>(), 1e-4f);
  auto other_image = cond;
  other_image.image = torch::randn({2, 1, 12, 12});
  EXPECT_GT(max_abs_difference(reference, model.forward(x, torch::full({2}, 0.3f), other_image))
                .item<float>(),
            1e-4f);
  // Samples do not interact: changing the second label leaves the first output as it was.
  auto second_changed = cond;
  second_changed.labels = torch::tensor({0, 1}, torch::kInt64);
  EXPECT_TRUE(torch::allclose(
      reference[0], model.forward(x, torch::full({2}, 0.3f), second_changed)[0], 1e-5, 1e-6));
}

TEST(UNet, NullClassIsMinusOneOrNumClassesOrNoLabels) {
  torch::manual_seed(2);
  auto options = tiny_options();
  options.num_classes = 4;
  fi::UNetVelocity model(options);
  const auto x = torch::randn({3, 1, 8, 8});
  const auto t = torch::rand({3});
  fi::Conditioning minus_one, index;
  minus_one.labels = torch::full({3}, -1, torch::kInt64);
  index.labels = torch::full({3}, 4, torch::kInt64);
  const auto null_output = model.forward(x, t, minus_one);
  EXPECT_TRUE(torch::equal(null_output, model.forward(x, t, index)));
  EXPECT_TRUE(torch::equal(null_output, model.forward(x, t)));
  fi::Conditioning real;
  real.labels = torch::full({3}, 1, torch::kInt64);
  EXPECT_GT(max_abs_difference(null_output, model.forward(x, t, real)).item<float>(), 1e-4f);
  // Mixed batches: the null rows match the all-null output.
  fi::Conditioning mixed;
  mixed.labels = torch::tensor({-1, 1, 4}, torch::kInt64);
  const auto mixed_output = model.forward(x, t, mixed);
  EXPECT_TRUE(torch::allclose(mixed_output[0], null_output[0], 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(mixed_output[2], null_output[2], 1e-5, 1e-6));
}

TEST(UNet, ZeroInitStartsAtZeroVelocity) {
  auto options = tiny_options();
  options.zero_init = true;
  fi::UNetVelocity model(options);
  const auto v = model.forward(torch::randn({2, 1, 8, 8}), torch::rand({2}));
  EXPECT_EQ(v.abs().max().item<float>(), 0.0f);
}

// Also with one channel per GroupNorm group (8 groups at 8 channels), where a bias or an
// embedding added before the normalization would be removed by it: such a parameter's gradient
// is rounding noise, which Adam scales up to full-size steps. Every gradient must be real.
TEST(UNet, EveryParameterGetsAGradientAboveRoundingNoise) {
  for (const std::int64_t groups : {4, 8}) {
    torch::manual_seed(3);
    auto options = tiny_options();
    options.norm_groups = groups;
    options.num_classes = 2;
    options.condition_channels = 1;
    fi::UNetVelocity model(options);
    fi::Conditioning cond;
    cond.labels = torch::tensor({0, 1}, torch::kInt64);
    cond.image = torch::randn({2, 1, 8, 8});
    model.forward(torch::randn({2, 1, 8, 8}), torch::rand({2}), cond).pow(2).mean().backward();
    float largest = 0;
    for (const auto& item : model.named_parameters()) {
      ASSERT_TRUE(item.value().grad().defined()) << item.key();
      largest = std::max(largest, item.value().grad().abs().max().item<float>());
    }
    for (const auto& item : model.named_parameters()) {
      EXPECT_GT(item.value().grad().abs().max().item<float>(), 1e-4f * largest)
          << item.key() << " with " << groups << " groups";
    }
  }
}

TEST(UNet, ResidualBlockSeesTheEmbedding) {
  torch::manual_seed(4);
  fi::ResidualBlock block(8, 8, /*embedding_dim=*/6, /*dropout=*/0.0, /*norm_groups=*/32,
                          /*zero_init=*/false);
  const auto x = torch::randn({2, 8, 5, 5});
  const auto a = block.forward(x, torch::randn({2, 6}));
  const auto b = block.forward(x, torch::randn({2, 6}));
  EXPECT_GT(max_abs_difference(a, b).item<float>(), 1e-3f);
}

TEST(UNet, GroupNormGroupsDivideTheChannelsAndKeepFourPerGroup) {
  struct Case {
    std::int64_t channels, max_groups, groups;
  };
  const std::vector<Case> cases = {{32, 32, 8}, {64, 32, 16}, {128, 32, 32}, {256, 32, 32},
                                   {8, 4, 2},   {96, 32, 24}, {20, 32, 5},   {3, 32, 1},
                                   {28, 32, 7}, {30, 32, 6},  {64, 3, 2}};
  for (const auto& c : cases) {
    EXPECT_EQ(fi::group_norm_groups(c.channels, c.max_groups), c.groups)
        << c.channels << " channels, at most " << c.max_groups << " groups";
  }
}

TEST(UNet, WeightsRoundTripThroughNamedTensors) {
  auto options = tiny_options();
  options.num_classes = 3;
  torch::manual_seed(4);
  fi::UNetVelocity first(options);
  torch::manual_seed(5);
  fi::UNetVelocity second(options);
  const auto x = torch::randn({2, 1, 8, 8});
  const auto t = torch::rand({2});
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [name, tensor] : fi::model_tensors(first)) tensors[name] = tensor;
  EXPECT_FALSE(torch::allclose(first.forward(x, t), second.forward(x, t)));
  fi::load_model_tensors(second, tensors, "", "memory");
  EXPECT_TRUE(torch::equal(first.forward(x, t), second.forward(x, t)));

  // Another architecture's tensors are refused, each with its name: a missing, a reshaped and an
  // extra one (a checkpoint of the UNet before its convolutions lost their redundant biases).
  auto expect_refused = [&](const std::map<std::string, torch::Tensor>& changed,
                            const std::string& needle) {
    try {
      fi::load_model_tensors(second, changed, "", "memory");
      ADD_FAILURE() << "accepted tensors with " << needle;
    } catch (const std::exception& error) {
      EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
    }
  };
  auto missing = tensors;
  missing.erase("output_conv.weight");
  expect_refused(missing, "missing tensor 'output_conv.weight'");
  auto reshaped = tensors;
  reshaped["output_conv.bias"] = torch::zeros({2});
  expect_refused(reshaped, "'output_conv.bias' has shape");
  auto extra = tensors;
  extra["down.0.residual.conv1.bias"] = torch::zeros({8});
  expect_refused(extra, "unexpected tensor 'down.0.residual.conv1.bias'");
}

TEST(UNet, PresetsBuildAndRunOnFashionMnistShapes) {
  for (const auto& name : fi::unet_preset_names()) {
    fi::UNetVelocity model(fi::unet_preset(name));
    EXPECT_GT(fi::count_parameters(model), 100000) << name;
    fi::Conditioning cond;
    cond.labels = torch::tensor({3}, torch::kInt64);
    const auto v = model.forward(torch::randn({1, 1, 28, 28}), torch::rand({1}), cond);
    EXPECT_EQ(v.sizes(), (std::vector<std::int64_t>{1, 1, 28, 28})) << name;
  }
  // The larger preset is larger.
  fi::UNetVelocity small(fi::unet_preset("fmnist")), large(fi::unet_preset("fmnist-large"));
  EXPECT_GT(fi::count_parameters(large), 2 * fi::count_parameters(small));
  EXPECT_THROW(fi::unet_preset("cifar"), std::invalid_argument);
}

TEST(UNet, RejectsBadInputsAndOptions) {
  auto options = tiny_options();
  options.num_classes = 3;
  fi::UNetVelocity model(options);
  const auto x = torch::randn({2, 1, 8, 8});
  const auto t = torch::rand({2});
  EXPECT_THROW(model.forward(torch::randn({2, 2, 8, 8}), t), std::invalid_argument);
  EXPECT_THROW(model.forward(torch::randn({2, 8, 8}), t), std::invalid_argument);
  EXPECT_THROW(model.forward(x, torch::rand({3})), std::invalid_argument);
  fi::Conditioning bad_label;
  bad_label.labels = torch::tensor({0, 4}, torch::kInt64);
  EXPECT_THROW(model.forward(x, t, bad_label), std::invalid_argument);
  bad_label.labels = torch::tensor({0, -2}, torch::kInt64);
  EXPECT_THROW(model.forward(x, t, bad_label), std::invalid_argument);
  bad_label.labels = torch::tensor({0.0f, 1.0f});
  EXPECT_THROW(model.forward(x, t, bad_label), std::invalid_argument);
  fi::Conditioning image;
  image.image = torch::randn({2, 1, 8, 8});
  EXPECT_THROW(model.forward(x, t, image), std::invalid_argument);  // no condition channels

  auto classless = tiny_options();
  fi::UNetVelocity unconditional(classless);
  fi::Conditioning labels;
  labels.labels = torch::tensor({0, 1}, torch::kInt64);
  EXPECT_THROW(unconditional.forward(x, t, labels), std::invalid_argument);
  labels.labels = torch::full({2}, -1, torch::kInt64);  // null labels are accepted
  EXPECT_TRUE(torch::equal(unconditional.forward(x, t, labels), unconditional.forward(x, t)));

  auto with_image = tiny_options();
  with_image.condition_channels = 2;
  fi::UNetVelocity image_model(with_image);
  EXPECT_THROW(image_model.forward(x, t), std::invalid_argument);  // image required
  image.image = torch::randn({2, 2, 8, 6});
  EXPECT_THROW(image_model.forward(x, t, image), std::invalid_argument);  // wrong size

  auto bad = tiny_options();
  bad.attention_levels = {2};
  EXPECT_THROW(fi::UNetVelocity{bad}, std::invalid_argument);
  bad = tiny_options();
  bad.num_heads = 3;
  EXPECT_THROW(fi::UNetVelocity{bad}, std::invalid_argument);
  bad = tiny_options();
  bad.base_channels = 7;
  EXPECT_THROW(fi::UNetVelocity{bad}, std::invalid_argument);
  bad = tiny_options();
  bad.channel_mults = {};
  EXPECT_THROW(fi::UNetVelocity{bad}, std::invalid_argument);
}

TEST(VelocityModel, UnconditionalModelsTakeOnlyAnEmptyCondition) {
  fi::MlpOptions options;
  options.width = 8;
  options.depth = 1;
  fi::VelocityModelPtr model = std::make_shared<fi::MlpVelocity>(options);
  const auto x = torch::randn({4, 2});
  const auto t = torch::rand({4});
  EXPECT_TRUE(torch::equal(model->forward(x, t, fi::Conditioning{}), model->forward(x, t)));
  fi::Conditioning cond;
  cond.labels = torch::zeros({4}, torch::kInt64);
  EXPECT_THROW(model->forward(x, t, cond), std::invalid_argument);
}
