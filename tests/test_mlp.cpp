#include <gtest/gtest.h>

#include "flowinone/models/mlp.h"
#include "flowinone/models/time_embedding.h"

TEST(TimeEmbedding, ShapeRangeAndDistinctTimes) {
  const auto t = torch::tensor({0.0f, 0.5f, 1.0f});
  const auto embedding = fi::sinusoidal_time_embedding(t, 16);
  ASSERT_EQ(embedding.sizes(), (std::vector<std::int64_t>{3, 16}));
  EXPECT_LE(embedding.abs().max().item<float>(), 1.0f);
  // cos^2 + sin^2 = 1 per frequency.
  const auto norms = embedding.pow(2).sum(1);
  EXPECT_TRUE(torch::allclose(norms, torch::full({3}, 8.0f)));
  EXPECT_GT((embedding[0] - embedding[1]).abs().max().item<float>(), 0.1f);
  EXPECT_THROW(fi::sinusoidal_time_embedding(t, 7), std::invalid_argument);
}

TEST(MlpVelocity, ShapesParametersAndErrors) {
  fi::MlpOptions options;
  options.width = 32;
  options.depth = 3;
  options.time_dim = 8;
  fi::MlpVelocity model(options);
  const auto out = model.forward(torch::randn({10, 2}), torch::rand({10}));
  EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{10, 2}));
  // (2+8)*32+32 + 2*(32*32+32) + 32*2+2
  std::int64_t count = 0;
  for (const auto& p : model.parameters()) count += p.numel();
  EXPECT_EQ(count, (10 * 32 + 32) + 2 * (32 * 32 + 32) + (32 * 2 + 2));
  EXPECT_THROW(model.forward(torch::randn({10, 3}), torch::rand({10})), std::invalid_argument);
  options.depth = 0;
  EXPECT_THROW(fi::MlpVelocity{options}, std::invalid_argument);
  EXPECT_THROW(fi::parse_activation("swish"), std::invalid_argument);
}

TEST(MlpVelocity, DependsOnTime) {
  torch::manual_seed(0);
  fi::MlpVelocity model(fi::MlpOptions{});
  const auto x = torch::randn({4, 2});
  const auto a = model.forward(x, torch::zeros({4}));
  const auto b = model.forward(x, torch::ones({4}));
  EXPECT_GT((a - b).abs().max().item<float>(), 1e-4f);
}

TEST(MlpVelocity, FourierFrequenciesAreABufferThatTravelsWithTheWeights) {
  fi::MlpOptions options;
  options.width = 16;
  options.depth = 2;
  options.fourier_features = 8;
  options.fourier_scale = 0.5;
  torch::manual_seed(1);
  fi::MlpVelocity first(options);
  torch::manual_seed(2);
  fi::MlpVelocity second(options);
  const auto buffers = first.named_buffers();
  ASSERT_TRUE(buffers.contains("fourier_frequencies"));
  EXPECT_EQ(buffers["fourier_frequencies"].sizes(), (std::vector<std::int64_t>{2, 8}));
  const auto x = torch::randn({5, 2});
  const auto t = torch::rand({5});
  EXPECT_FALSE(torch::allclose(first.forward(x, t), second.forward(x, t)));
  {
    torch::NoGradGuard no_grad;
    for (auto& item : second.named_parameters())
      item.value().copy_(first.named_parameters()[item.key()]);
    for (auto& item : second.named_buffers()) item.value().copy_(first.named_buffers()[item.key()]);
  }
  EXPECT_TRUE(torch::equal(first.forward(x, t), second.forward(x, t)));
  options.fourier_scale = 0;
  EXPECT_THROW(fi::MlpVelocity{options}, std::invalid_argument);
}
