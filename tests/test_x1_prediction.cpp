#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include "flowinone/models/x1_prediction.h"

namespace {

// A "network" that always predicts the same endpoint c: the ideal x1 predictor for data that is
// the single point c. Its linear layer (scaled to zero) only gives it a parameter.
class ConstantEndpoint : public fi::VelocityModel {
 public:
  explicit ConstantEndpoint(torch::Tensor c) : c_(std::move(c)) {
    offset_ = register_module("offset", torch::nn::Linear(1, 1));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    const torch::Tensor shift = offset_->forward(t.unsqueeze(1)).sum() * 0.0;
    return c_.expand_as(x) + shift;
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                        const fi::Conditioning& cond) override {
    last_labels = cond.labels;
    return forward(x, t);
  }
  torch::Tensor last_labels;

 private:
  torch::Tensor c_;
  torch::nn::Linear offset_{nullptr};
};

}  // namespace

TEST(X1Prediction, IsTheStraightPathVelocityOfAnExactEndpoint) {
  // For data concentrated at c, x_t = (1 - t) x0 + t c and u = c - x0: the wrapper of the ideal
  // x1 predictor gives exactly u wherever 1 - t is above the floor.
  const torch::Tensor c = torch::tensor({1.5f, -2.0f});
  auto net = std::make_shared<ConstantEndpoint>(c);
  fi::X1PredictionVelocity model(net, 0.05);
  torch::manual_seed(0);
  const torch::Tensor x0 = torch::randn({6, 2});
  const torch::Tensor t = torch::tensor({0.0f, 0.1f, 0.4f, 0.7f, 0.9f, 0.94f});
  const torch::Tensor xt = (1 - t).unsqueeze(1) * x0 + t.unsqueeze(1) * c;
  EXPECT_TRUE(torch::allclose(model.forward(xt, t), c - x0, 1e-5, 1e-5));
}

TEST(X1Prediction, FloorsTheRemainingTimeAndBroadcastsOverImages) {
  const torch::Tensor c = torch::full({1, 1, 2, 2}, 0.5f);
  fi::X1PredictionVelocity model(std::make_shared<ConstantEndpoint>(c), 0.1);
  const torch::Tensor x = torch::arange(12, torch::kFloat32).reshape({3, 1, 2, 2});
  const torch::Tensor t = torch::tensor({0.5f, 0.95f, 1.0f});
  const torch::Tensor v = model.forward(x, t);
  ASSERT_EQ(v.sizes(), x.sizes());
  // 1 - t = 0.5, then 0.05 and 0 floored to 0.1: finite even at t = 1.
  EXPECT_TRUE(torch::allclose(v[0], (c[0] - x[0]) / 0.5));
  EXPECT_TRUE(torch::allclose(v[1], (c[0] - x[1]) / 0.1));
  EXPECT_TRUE(torch::allclose(v[2], (c[0] - x[2]) / 0.1));
}

TEST(X1Prediction, PassesTheConditionAndNamesParametersUnderNet) {
  auto net = std::make_shared<ConstantEndpoint>(torch::zeros({2}));
  fi::X1PredictionVelocity model(net, 0.05);
  fi::Conditioning cond;
  cond.labels = torch::tensor({3, 1}, torch::kInt64);
  model.forward(torch::randn({2, 2}), torch::rand({2}), cond);
  ASSERT_TRUE(net->last_labels.defined());
  EXPECT_TRUE(torch::equal(net->last_labels, cond.labels));
  const auto names = model.named_parameters().keys();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "net.offset.weight");
}

TEST(X1Prediction, RejectsABadFloorOrNoNetwork) {
  auto net = std::make_shared<ConstantEndpoint>(torch::zeros({2}));
  EXPECT_THROW(fi::X1PredictionVelocity(net, 0.0), std::invalid_argument);
  EXPECT_THROW(fi::X1PredictionVelocity(net, 1.5), std::invalid_argument);
  EXPECT_THROW(fi::X1PredictionVelocity(nullptr, 0.05), std::invalid_argument);
  fi::X1PredictionVelocity model(net, 0.05);
  EXPECT_THROW(model.forward(torch::randn({3, 2}), torch::rand({2})), std::invalid_argument);
}
