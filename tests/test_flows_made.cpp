// MADE's autoregressive property: with a chosen order and several hidden layers, the Jacobian of
// every output with respect to the input is zero unless the input comes strictly earlier in the
// order; MAF's Jacobian is then triangular in that order with diagonal exp(-alpha).
#include <gtest/gtest.h>

#include "flowinone/core/random.h"
#include "flowinone/flows/maf.h"
#include "test_flows_helpers.h"

namespace {

// d out[k][j] / d x[i] for one sample: (outputs_per_dim, D, D).
torch::Tensor made_jacobian(fi::Made& made, const torch::Tensor& x) {
  const auto input = x.detach().clone().requires_grad_(true);
  const auto out = made.forward(input, {});  // (1, K, D)
  const std::int64_t k_count = out.size(1), d = out.size(2);
  auto jacobian = torch::zeros({k_count, d, d}, torch::kFloat64);
  for (std::int64_t k = 0; k < k_count; ++k) {
    for (std::int64_t j = 0; j < d; ++j) {
      const auto grads = torch::autograd::grad({out[0][k][j]}, {input}, {}, true, false, true);
      if (grads[0].defined()) jacobian[k][j].copy_(grads[0][0]);
    }
  }
  return jacobian;
}

}  // namespace

TEST(Made, JacobianIsStrictlyTriangularInTheChosenOrder) {
  torch::manual_seed(11);
  fi::MadeOptions options;
  options.dim = 6;
  options.hidden = 20;
  options.hidden_layers = 3;
  options.outputs_per_dim = 2;
  options.order = {3, 5, 0, 1, 4, 2};
  fi::Made made(options);
  fi::testing::perturb_parameters(made, 0.5, 12);
  made.to(torch::kFloat64);
  std::vector<std::int64_t> position(6);
  for (std::int64_t k = 0; k < 6; ++k) position[options.order[k]] = k;

  auto generator = fi::make_generator(13);
  const auto jacobian = made_jacobian(made, torch::randn({1, 6}, generator, torch::kFloat64));
  std::int64_t allowed = 0, nonzero_allowed = 0;
  for (std::int64_t k = 0; k < 2; ++k) {
    for (std::int64_t j = 0; j < 6; ++j) {
      for (std::int64_t i = 0; i < 6; ++i) {
        const double entry = jacobian[k][j][i].item<double>();
        if (position[i] >= position[j]) {
          EXPECT_EQ(entry, 0.0) << "output " << j << " depends on input " << i;
        } else {
          ++allowed;
          if (entry != 0.0) ++nonzero_allowed;
        }
      }
    }
  }
  // The masks keep the connections the order allows: most allowed entries are non-zero.
  EXPECT_EQ(allowed, 2 * 15);
  EXPECT_GE(nonzero_allowed, allowed * 3 / 4);
}

TEST(Made, MafJacobianIsTriangularWithTheStatedDiagonal) {
  torch::manual_seed(14);
  fi::MadeOptions options;
  options.dim = 5;
  options.hidden = 16;
  options.order = fi::natural_order(5, /*reversed=*/true);
  fi::MafLayer layer(options);
  fi::testing::perturb_parameters(layer, 0.4, 15);
  layer.to(torch::kFloat64);
  const auto x = torch::randn({1, 5}, torch::kFloat64).requires_grad_(true);
  const auto z = layer.forward(x, {}).z;
  for (std::int64_t j = 0; j < 5; ++j) {
    const auto row = torch::autograd::grad({z[0][j]}, {x}, {}, true)[0][0];
    for (std::int64_t i = 0; i < 5; ++i) {
      // Reversed order: x4 first, so z_j depends on x_i only for i >= j.
      if (i < j) {
        EXPECT_EQ(row[i].item<double>(), 0.0) << j << " " << i;
      }
    }
    EXPECT_GT(row[j].item<double>(), 0.0);  // exp(-alpha_j)
  }
}

TEST(Made, RejectsABadOrder) {
  fi::MadeOptions options;
  options.dim = 3;
  options.order = {0, 0, 1};
  EXPECT_THROW(fi::Made{options}, std::invalid_argument);
  options.order = {0, 1};
  EXPECT_THROW(fi::Made{options}, std::invalid_argument);
}
