#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>

#include "flowinone/core/random.h"
#include "flowinone/couplings/coupling.h"
#include "flowinone/couplings/ot_exact.h"
#include "flowinone/couplings/ot_sinkhorn.h"

namespace {

torch::Tensor randn(std::vector<std::int64_t> shape, std::uint64_t seed) {
  at::Generator generator = fi::make_generator(seed);
  return torch::randn(shape, generator, torch::kFloat64);
}

// Total squared distance of the pairs (x0[j], x1[j]).
double pair_cost(const torch::Tensor& x0, const torch::Tensor& x1) {
  return (x0 - x1).pow(2).sum().item<double>();
}

// For each row of `paired`, the index of the identical row of `x0` (-1 when there is none).
std::vector<std::int64_t> source_rows(const torch::Tensor& paired, const torch::Tensor& x0) {
  // Direct differences, not the cost's expansion, so identical rows give exactly zero.
  const auto flat = paired.reshape({paired.size(0), 1, -1});
  const auto distance = (flat - x0.reshape({1, x0.size(0), -1})).pow(2).sum(2);
  const auto [minimum, index] = distance.min(1);
  std::vector<std::int64_t> rows;
  for (std::int64_t j = 0; j < paired.size(0); ++j) {
    rows.push_back(minimum[j].item<double>() == 0.0 ? index[j].item<std::int64_t>() : -1);
  }
  return rows;
}

bool is_permutation(std::vector<std::int64_t> rows) {
  std::sort(rows.begin(), rows.end());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] != static_cast<std::int64_t>(i)) return false;
  }
  return true;
}

double brute_force_cost(const torch::Tensor& x0, const torch::Tensor& x1) {
  const auto cost = fi::squared_distance_cost(x0, x1);
  std::vector<std::int64_t> order(static_cast<std::size_t>(x0.size(0)));
  std::iota(order.begin(), order.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    double total = 0;
    for (std::size_t j = 0; j < order.size(); ++j) total += cost[order[j]][j].item<double>();
    best = std::min(best, total);
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

// Each x1 row in turn takes its nearest unused x0 row.
double greedy_cost(const torch::Tensor& x0, const torch::Tensor& x1) {
  auto cost = fi::squared_distance_cost(x0, x1);
  double total = 0;
  for (std::int64_t j = 0; j < x1.size(0); ++j) {
    const auto row = cost.select(1, j).argmin().item<std::int64_t>();
    total += cost[row][j].item<double>();
    cost.select(0, row).fill_(std::numeric_limits<double>::infinity());
  }
  return total;
}

double exact_cost(const torch::Tensor& x0, const torch::Tensor& x1) {
  at::Generator generator = fi::make_generator(0);
  const auto pairs = fi::OtExactCoupling().pair(x0, x1, {}, generator);
  return pair_cost(pairs.x0, pairs.x1);
}

}  // namespace

TEST(OtExact, MatchesBruteForceOnSmallSets) {
  for (std::int64_t n = 1; n <= 7; ++n) {
    for (std::uint64_t trial = 0; trial < 3; ++trial) {
      const auto x0 = randn({n, 2}, 100 * n + trial), x1 = randn({n, 2}, 1000 * n + trial) + 1.0;
      at::Generator generator = fi::make_generator(0);
      const auto pairs = fi::OtExactCoupling().pair(x0, x1, {}, generator);
      EXPECT_TRUE(torch::equal(pairs.x1, x1));
      EXPECT_TRUE(is_permutation(source_rows(pairs.x0, x0)));
      EXPECT_NEAR(pair_cost(pairs.x0, pairs.x1), brute_force_cost(x0, x1), 1e-9)
          << "n = " << n << ", trial " << trial;
    }
  }
}

TEST(OtExact, LargeBatchBeatsIdentityAndGreedy) {
  const auto x0 = randn({256, 2}, 1), x1 = randn({256, 2}, 2) * 0.5 + 2.0;
  at::Generator generator = fi::make_generator(0);
  const auto pairs = fi::OtExactCoupling().pair(x0, x1, {}, generator);
  EXPECT_TRUE(is_permutation(source_rows(pairs.x0, x0)));
  const double cost = pair_cost(pairs.x0, pairs.x1);
  EXPECT_LE(cost, pair_cost(x0, x1) + 1e-9);
  EXPECT_LE(cost, greedy_cost(x0, x1) + 1e-9);
}

TEST(OtExact, WorksOnImageShapedRows) {
  const auto x0 = randn({6, 3, 2, 2}, 7), x1 = randn({6, 3, 2, 2}, 8);
  at::Generator generator = fi::make_generator(0);
  const auto pairs = fi::OtExactCoupling().pair(x0, x1, {}, generator);
  EXPECT_EQ(pairs.x0.sizes(), x0.sizes());
  EXPECT_NEAR(pair_cost(pairs.x0, pairs.x1), brute_force_cost(x0, x1), 1e-9);
}

TEST(Sinkhorn, PlanHasUniformMarginals) {
  const auto cost = fi::squared_distance_cost(randn({100, 2}, 1), randn({80, 2}, 2) + 1.0);
  const auto plan = fi::sinkhorn_plan(cost / cost.max(), 0.05);
  EXPECT_EQ(plan.sizes(), (std::vector<std::int64_t>{100, 80}));
  EXPECT_NEAR(plan.sum().item<double>(), 1.0, 1e-9);
  EXPECT_LT((plan.sum(1) * 100 - 1).abs().max().item<double>(), 1e-4);
  EXPECT_LT((plan.sum(0) * 80 - 1).abs().max().item<double>(), 1e-4);
}

TEST(Sinkhorn, PlanApproachesExactCostAsRegShrinks) {
  const auto x0 = randn({48, 2}, 3), x1 = randn({48, 2}, 4) + 1.5;
  auto cost = fi::squared_distance_cost(x0, x1);
  const double scale = cost.max().item<double>();
  cost = cost / scale;
  const double exact = exact_cost(x0, x1) / scale / 48;  // the optimal plan has mass 1/n per pair
  double previous_gap = std::numeric_limits<double>::infinity();
  for (const double reg : {0.1, 0.01, 0.001}) {
    // At reg 0.001 Sinkhorn converges slowly; 3000 iterations leave a row error near 3e-5.
    const auto plan = fi::sinkhorn_plan(cost, reg, 3000, 1e-7);
    const double gap = (plan * cost).sum().item<double>() - exact;
    EXPECT_GE(gap, -1e-9) << "reg " << reg;
    EXPECT_LT(gap, previous_gap) << "reg " << reg;
    previous_gap = gap;
  }
  EXPECT_LT(previous_gap, 0.02 * exact) << "exact " << exact;
}

TEST(Sinkhorn, ScalingFormMatchesALogDomainReference) {
  // C / reg spans 100 here, so sinkhorn_plan takes its scaling form; the reference below is the
  // log-domain iteration run to convergence.
  auto cost = fi::squared_distance_cost(randn({40, 2}, 9), randn({30, 2}, 10) + 0.5);
  cost = cost / cost.max();
  const double reg = 0.01;
  const auto scaled = cost / reg;
  auto f = torch::zeros({40, 1}, torch::kFloat64), g = torch::zeros({1, 30}, torch::kFloat64);
  for (int i = 0; i < 5000; ++i) {
    f = -std::log(40.0) - torch::logsumexp(g - scaled, 1, true);
    g = -std::log(30.0) - torch::logsumexp(f - scaled, 0, true);
  }
  const auto reference = torch::exp(f + g - scaled);
  const auto plan = fi::sinkhorn_plan(cost, reg, 5000, 1e-12);
  EXPECT_LT((plan - reference).abs().max().item<double>(), 1e-9);
}

TEST(Sinkhorn, NoNanForFarApartPoints) {
  const auto x0 = randn({64, 2}, 5), x1 = randn({64, 2}, 6) + 1e4;
  // Unnormalized costs around 2e8 with a small reg: the log domain must not overflow.
  const auto plan = fi::sinkhorn_plan(fi::squared_distance_cost(x0, x1), 0.05, 200);
  EXPECT_TRUE(torch::isfinite(plan).all().item<bool>());
  EXPECT_NEAR(plan.sum().item<double>(), 1.0, 1e-6);
  at::Generator generator = fi::make_generator(0);
  const auto pairs = fi::OtSinkhornCoupling().pair(x0, x1, {}, generator);
  EXPECT_TRUE(torch::isfinite(pairs.x0).all().item<bool>());
  for (const auto row : source_rows(pairs.x0, x0)) EXPECT_GE(row, 0);
  EXPECT_LE(exact_cost(x0, x1), pair_cost(x0, x1));
}

TEST(Coupling, SinkhornPairsNearlyOptimallyWithSmallReg) {
  const auto x0 = randn({64, 2}, 9), x1 = randn({64, 2}, 10) * 0.5;
  fi::CouplingOptions options;
  options.reg = 1e-3;
  options.max_iterations = 5000;
  at::Generator generator = fi::make_generator(1);
  const auto pairs = fi::OtSinkhornCoupling(options).pair(x0, x1, {}, generator);
  EXPECT_TRUE(torch::equal(pairs.x1, x1));
  const double exact = exact_cost(x0, x1);
  const double sinkhorn = pair_cost(pairs.x0, pairs.x1), independent = pair_cost(x0, x1);
  EXPECT_LT(sinkhorn, 1.2 * exact) << "independent " << independent;
  EXPECT_GT(independent, 1.5 * exact) << "sinkhorn " << sinkhorn;
}

TEST(Coupling, LabelAwarePairingStaysWithinClasses) {
  const std::int64_t n = 90;
  const auto x0 = randn({n, 2}, 11), x1 = randn({n, 2}, 12);
  at::Generator label_generator = fi::make_generator(13);
  const auto labels = torch::randint(0, 3, {n}, label_generator, torch::kInt64);
  for (const auto kind : {fi::CouplingKind::kOtExact, fi::CouplingKind::kOtSinkhorn}) {
    SCOPED_TRACE(fi::to_string(kind));
    at::Generator generator = fi::make_generator(14);
    const auto pairs = fi::make_coupling(kind)->pair(x0, x1, labels, generator);
    EXPECT_TRUE(torch::equal(pairs.labels, labels));
    const auto rows = source_rows(pairs.x0, x0);
    for (std::int64_t j = 0; j < n; ++j) {
      ASSERT_GE(rows[j], 0);
      EXPECT_EQ(labels[rows[j]].item<std::int64_t>(), labels[j].item<std::int64_t>()) << j;
    }
    if (kind == fi::CouplingKind::kOtExact) {
      EXPECT_TRUE(is_permutation(rows));
    }
  }
  // Without label awareness the optimal matching does cross classes.
  fi::CouplingOptions options;
  options.label_aware = false;
  at::Generator generator = fi::make_generator(14);
  const auto pairs =
      fi::make_coupling(fi::CouplingKind::kOtExact, options)->pair(x0, x1, labels, generator);
  const auto rows = source_rows(pairs.x0, x0);
  std::int64_t crossings = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    crossings += labels[rows[j]].item<std::int64_t>() != labels[j].item<std::int64_t>();
  }
  EXPECT_GT(crossings, 0);
}

TEST(Coupling, IndependentReturnsInputs) {
  const auto x0 = randn({5, 2}, 1), x1 = randn({5, 2}, 2);
  at::Generator generator = fi::make_generator(0);
  const auto pairs = fi::make_coupling(fi::CouplingKind::kIndependent)->pair(x0, x1, {}, generator);
  EXPECT_TRUE(pairs.x0.is_same(x0));
  EXPECT_TRUE(pairs.x1.is_same(x1));
  EXPECT_FALSE(pairs.labels.defined());
}

TEST(Coupling, KindsRoundTripThroughNames) {
  for (const auto kind : {fi::CouplingKind::kIndependent, fi::CouplingKind::kOtExact,
                          fi::CouplingKind::kOtSinkhorn}) {
    EXPECT_EQ(fi::parse_coupling(fi::to_string(kind)), kind);
    EXPECT_EQ(fi::make_coupling(kind)->name(), fi::to_string(kind));
  }
  try {
    fi::parse_coupling("ot");
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("independent, ot-exact, ot-sinkhorn"),
              std::string::npos)
        << error.what();
  }
}

TEST(Coupling, RejectsBadArguments) {
  at::Generator generator = fi::make_generator(0);
  for (const auto kind : {fi::CouplingKind::kIndependent, fi::CouplingKind::kOtExact,
                          fi::CouplingKind::kOtSinkhorn}) {
    SCOPED_TRACE(fi::to_string(kind));
    const auto coupling = fi::make_coupling(kind);
    EXPECT_THROW(coupling->pair(torch::zeros({4, 2}), torch::zeros({5, 2}), {}, generator),
                 std::invalid_argument);
    EXPECT_THROW(coupling->pair(torch::zeros({4, 2}), torch::zeros({4, 3}), {}, generator),
                 std::invalid_argument);
    EXPECT_THROW(coupling->pair(torch::zeros({4, 2}), torch::zeros({4, 2}),
                                torch::zeros({3}, torch::kInt64), generator),
                 std::invalid_argument);
    EXPECT_THROW(
        coupling->pair(torch::zeros({4, 2}), torch::zeros({4, 2}), torch::zeros({4}), generator),
        std::invalid_argument);
  }
  for (const double reg : {0.0, -0.1}) {
    fi::CouplingOptions options;
    options.reg = reg;
    EXPECT_THROW(fi::make_coupling(fi::CouplingKind::kOtSinkhorn, options), std::invalid_argument);
    EXPECT_THROW(fi::sinkhorn_plan(torch::zeros({3, 3}), reg), std::invalid_argument);
  }
  try {
    fi::sinkhorn_plan(torch::zeros({3, 3}), -0.5);
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("[sinkhorn_plan] reg must be > 0, got -0.5"),
              std::string::npos)
        << error.what();
  }
  EXPECT_THROW(fi::sinkhorn_plan(torch::zeros({3}), 0.1), std::invalid_argument);
  EXPECT_THROW(fi::sinkhorn_plan(torch::zeros({3, 3}), 0.1, 0), std::invalid_argument);
  EXPECT_THROW(fi::exact_ot_matching(torch::zeros({3, 4})), std::invalid_argument);
}

TEST(Coupling, SinkhornOnGpuPicksTheSameRowsAsOnCpu_CUDA) {
  const auto x0 = randn({128, 2}, 21), x1 = randn({128, 2}, 22) + 2.0;
  const fi::OtSinkhornCoupling coupling;
  at::Generator cpu_generator = fi::make_generator(3), gpu_generator = fi::make_generator(3);
  const auto on_cpu = coupling.pair(x0, x1, {}, cpu_generator);
  const auto on_gpu = coupling.pair(x0.cuda(), x1.cuda(), {}, gpu_generator);
  EXPECT_TRUE(on_gpu.x0.is_cuda());
  EXPECT_TRUE(torch::allclose(on_gpu.x0.cpu(), on_cpu.x0));
  at::Generator generator = fi::make_generator(0);
  const auto exact = fi::OtExactCoupling().pair(x0.cuda(), x1.cuda(), {}, generator);
  EXPECT_TRUE(exact.x0.is_cuda());
  EXPECT_NEAR(pair_cost(exact.x0.cpu(), x1), exact_cost(x0, x1), 1e-9);
}
