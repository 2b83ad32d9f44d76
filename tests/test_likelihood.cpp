// CNF log-likelihood: closed forms for linear flows, Hutchinson's unbiasedness, a forward/backward
// round trip through a random MLP, and the command line's contract.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/types.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "cli_run.h"
#include "flowinone/core/random.h"
#include "flowinone/generative/generate.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/generative/model_registry.h"
#include "flowinone/models/mlp.h"
#include "flowinone/solvers/divergence.h"
#include "flowinone/solvers/likelihood.h"
#include "flowinone/viz/log_density_map.h"
#include "temp_dir.h"

namespace {

// v(x, t) = A x on the flattened state; x may have any (B, ...) shape with D = A.size(0).
fi::VelocityFn linear_velocity(const torch::Tensor& a) {
  return [a](const torch::Tensor& x, double /*t*/) {
    const torch::Tensor flat = x.reshape({x.size(0), -1});
    return torch::matmul(flat, a.t()).reshape(x.sizes());
  };
}

// log p1(x1) for the flow of v = A x from N(0, I): x0 = expm(-A) x1, log p1 = log N(x0) - tr A.
torch::Tensor linear_flow_log_density(const torch::Tensor& a, const torch::Tensor& x1) {
  const torch::Tensor x0 = torch::matmul(x1.reshape({x1.size(0), -1}), torch::matrix_exp(-a).t());
  return fi::standard_normal_log_density(x0) - a.trace().item<double>();
}

torch::Tensor random_points(std::vector<std::int64_t> shape, std::uint64_t seed) {
  at::Generator generator = fi::make_generator(seed);
  return torch::randn(shape, generator, torch::kFloat64);
}

const torch::Tensor& matrix_2x2() {
  static const torch::Tensor a =
      torch::tensor({0.3, -0.8, 0.5, -0.2}, torch::kFloat64).reshape({2, 2});
  return a;
}

const torch::Tensor& matrix_3x3() {
  static const torch::Tensor a =
      torch::tensor({-0.4, 0.7, 0.1, -0.3, 0.2, 0.6, 0.5, -0.9, 0.1}, torch::kFloat64)
          .reshape({3, 3});
  return a;
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

fi::LikelihoodOptions solver_options(fi::SolverKind kind) {
  fi::LikelihoodOptions options;
  options.solve.solver = kind;
  options.solve.num_steps = 40;
  options.solve.rtol = 1e-9;
  options.solve.atol = 1e-9;
  return options;
}

}  // namespace

TEST(Likelihood, ExactDivergenceMatchesLinearFlowClosedForm) {
  for (const fi::SolverKind kind : {fi::SolverKind::kRk4, fi::SolverKind::kDopri5}) {
    // 2x2 on (B, 2) points, and 3x3 on (B, 3, 1) points to exercise the flattening.
    const torch::Tensor x2 = random_points({16, 2}, 1);
    const torch::Tensor x3 = random_points({16, 3, 1}, 2);
    for (const auto& [a, x1] :
         {std::make_pair(matrix_2x2(), x2), std::make_pair(matrix_3x3(), x3)}) {
      const fi::LogDensity result =
          fi::log_likelihood(linear_velocity(a), x1, solver_options(kind));
      EXPECT_EQ(result.x.sizes(), x1.sizes());
      EXPECT_LT(max_abs(result.log_p - linear_flow_log_density(a, x1)), 1e-7)
          << fi::to_string(kind) << " D=" << a.size(0);
      const torch::Tensor x0 =
          torch::matmul(x1.reshape({16, -1}), torch::matrix_exp(-a).t()).reshape(x1.sizes());
      EXPECT_LT(max_abs(result.x - x0), 1e-7) << fi::to_string(kind);
      EXPECT_GT(result.nfe, 0);
    }
  }
}

TEST(Likelihood, ForwardPassGivesTheSameClosedForm) {
  const torch::Tensor x0 = random_points({16, 3}, 3);
  const fi::LogDensity forward = fi::sample_with_log_density(
      linear_velocity(matrix_3x3()), x0, solver_options(fi::SolverKind::kDopri5));
  EXPECT_LT(max_abs(forward.x - torch::matmul(x0, torch::matrix_exp(matrix_3x3()).t())), 1e-7);
  EXPECT_LT(max_abs(forward.log_p - linear_flow_log_density(matrix_3x3(), forward.x)), 1e-7);
}

TEST(Likelihood, HutchinsonIsUnbiasedWithinThreeStandardErrors) {
  const torch::Tensor x1 = random_points({3000, 3}, 4);
  fi::LikelihoodOptions options = solver_options(fi::SolverKind::kRk4);
  options.solve.num_steps = 8;
  const torch::Tensor exact = fi::log_likelihood(linear_velocity(matrix_3x3()), x1, options).log_p;
  options.estimator = fi::DivergenceEstimator::kHutchinson;
  for (const fi::ProbeKind probe : {fi::ProbeKind::kRademacher, fi::ProbeKind::kGaussian}) {
    options.probe = probe;
    options.seed = 11;
    const torch::Tensor estimate =
        fi::log_likelihood(linear_velocity(matrix_3x3()), x1, options).log_p;
    const torch::Tensor difference = estimate - exact;
    const double mean = difference.mean().item<double>();
    const double stderr_mean = difference.std().item<double>() / std::sqrt(3000.0);
    EXPECT_GT(stderr_mean, 1e-3) << "the probes add no noise: " << fi::to_string(probe);
    EXPECT_LT(std::abs(mean), 3 * stderr_mean) << fi::to_string(probe);
    // More probes per point: less noise.
    options.num_probes = 16;
    const torch::Tensor averaged =
        fi::log_likelihood(linear_velocity(matrix_3x3()), x1, options).log_p - exact;
    EXPECT_LT(averaged.std().item<double>(), 0.5 * difference.std().item<double>());
    options.num_probes = 1;
  }
}

TEST(Likelihood, HutchinsonKeepsItsProbesAlongATrajectory) {
  // With one Rademacher probe eps kept for the whole trajectory, the estimated integral of the
  // divergence of v = A x is eps^T A eps = tr A +- (A01 + A10), exactly; fresh probes at every
  // evaluation would average to something in between.
  const torch::Tensor a = matrix_2x2();
  const double off_diagonal = (a[0][1] + a[1][0]).item<double>();
  const torch::Tensor x1 = random_points({64, 2}, 5);
  fi::LikelihoodOptions options = solver_options(fi::SolverKind::kDopri5);
  const torch::Tensor exact = fi::log_likelihood(linear_velocity(a), x1, options).log_p;
  options.estimator = fi::DivergenceEstimator::kHutchinson;
  const torch::Tensor error =
      (fi::log_likelihood(linear_velocity(a), x1, options).log_p - exact).abs();
  EXPECT_LT(max_abs(error - std::abs(off_diagonal)), 1e-7);
}

TEST(Likelihood, SameSeedSameProbesAndStandardErrorCountsProbeNoise) {
  // Identical points: the exact NLL has no spread, Hutchinson's spread is the probes' alone.
  const torch::Tensor x1 = random_points({1, 3}, 6).expand({500, 3}).contiguous();
  fi::LikelihoodOptions options = solver_options(fi::SolverKind::kRk4);
  options.solve.num_steps = 8;
  const fi::VelocityFn velocity = linear_velocity(matrix_3x3());
  const fi::LikelihoodResult exact = fi::evaluate_likelihood(velocity, x1, options);
  EXPECT_LT(exact.nll_stderr, 1e-9);
  // RK4 with 8 steps: accurate to about 1e-6 here.
  EXPECT_NEAR(exact.nll_nats, -linear_flow_log_density(matrix_3x3(), x1)[0].item<double>(), 1e-5);
  options.estimator = fi::DivergenceEstimator::kHutchinson;
  options.seed = 3;
  const fi::LikelihoodResult first = fi::evaluate_likelihood(velocity, x1, options);
  const fi::LikelihoodResult again = fi::evaluate_likelihood(velocity, x1, options);
  EXPECT_TRUE(torch::equal(first.log_p, again.log_p));
  EXPECT_NEAR(first.nll_stderr, (first.log_p - exact.log_p).std().item<double>() / std::sqrt(500.0),
              1e-9);
  EXPECT_GT(first.nll_stderr, 1e-3);
  options.seed = 4;
  EXPECT_FALSE(torch::equal(fi::evaluate_likelihood(velocity, x1, options).log_p, first.log_p));
  // Batches draw their probes in sequence from the one generator; the figures stay sound.
  options.batch_size = 128;
  const fi::LikelihoodResult batched = fi::evaluate_likelihood(velocity, x1, options);
  EXPECT_EQ(batched.count, 500);
  EXPECT_LT(std::abs(batched.nll_nats - exact.nll_nats), 4 * batched.nll_stderr);
}

TEST(Likelihood, ExactDivergenceMatchesFiniteDifferenceJacobianOfAnMlp) {
  torch::manual_seed(7);
  fi::MlpOptions mlp;
  mlp.dim = 3;
  mlp.width = 16;
  mlp.depth = 2;
  mlp.fourier_features = 4;
  auto model = std::make_shared<fi::MlpVelocity>(mlp);
  model->to(torch::kFloat64);
  const torch::Tensor t = torch::full({5}, 0.3, torch::kFloat64);
  const torch::Tensor x = random_points({5, 3}, 8);
  torch::Tensor leaf = x.clone().requires_grad_(true);
  const torch::Tensor divergence = fi::exact_divergence(model->forward(leaf, t), leaf);
  torch::NoGradGuard no_grad;
  torch::Tensor reference = torch::zeros({5}, torch::kFloat64);
  const double h = 1e-5;
  for (int i = 0; i < 3; ++i) {
    torch::Tensor step = torch::zeros({5, 3}, torch::kFloat64);
    step.select(1, i).fill_(h);
    reference += (model->forward(x + step, t) - model->forward(x - step, t)).select(1, i) / (2 * h);
  }
  EXPECT_LT(max_abs(divergence - reference), 1e-7);
  // Gaussian probes estimate the same trace: 4000 copies of the points, one probe each, in one
  // product; the mean per point lies within 4 standard errors of the finite differences.
  constexpr int kCopies = 4000;
  at::Generator generator = fi::make_generator(9);
  const torch::Tensor probes = fi::draw_probes(fi::ProbeKind::kGaussian, 1, {kCopies * 5, 3},
                                               generator, torch::TensorOptions(torch::kFloat64));
  torch::AutoGradMode grad(true);
  torch::Tensor copies = x.repeat({kCopies, 1}).requires_grad_(true);
  const torch::Tensor estimates =
      fi::hutchinson_divergence(model->forward(copies, t.repeat({kCopies})), copies, probes)
          .reshape({kCopies, 5});
  const torch::Tensor standard_error = estimates.std(0) / std::sqrt(double(kCopies));
  EXPECT_TRUE(((estimates.mean(0) - reference).abs() < 4 * standard_error).all().item<bool>())
      << estimates.mean(0) << reference;
  EXPECT_GT(standard_error.min().item<double>(), 0.0);
}

TEST(Likelihood, BackwardInvertsTheForwardPassOfARandomNetwork) {
  // v(x, t) = W2 tanh(W1 x + t c + b1) + b2 in float64 throughout, so tight tolerances hold.
  at::Generator generator = fi::make_generator(13);
  const auto f64 = torch::TensorOptions(torch::kFloat64);
  const torch::Tensor w1 = torch::randn({16, 2}, generator, f64);
  const torch::Tensor c = torch::randn({16}, generator, f64);
  const torch::Tensor b1 = torch::randn({16}, generator, f64);
  const torch::Tensor w2 = torch::randn({2, 16}, generator, f64) * 0.3;
  const torch::Tensor b2 = torch::randn({2}, generator, f64);
  const fi::VelocityFn velocity = [=](const torch::Tensor& x, double t) {
    return torch::matmul(torch::tanh(torch::matmul(x, w1.t()) + c * t + b1), w2.t()) + b2;
  };
  const torch::Tensor x0 = random_points({64, 2}, 10);
  torch::NoGradGuard callers_mode;  // the likelihood turns recording on where it needs it
  for (const fi::SolverKind kind : {fi::SolverKind::kRk4, fi::SolverKind::kDopri5}) {
    const fi::LikelihoodOptions options = solver_options(kind);
    const fi::LogDensity forward = fi::sample_with_log_density(velocity, x0, options);
    const fi::LogDensity backward = fi::log_likelihood(velocity, forward.x, options);
    EXPECT_LT(max_abs(backward.x - x0), 1e-7) << fi::to_string(kind);
    EXPECT_LT(max_abs(backward.log_p - forward.log_p), 1e-7) << fi::to_string(kind);
    // The flow is not volume preserving: the log-density moved away from the source's.
    EXPECT_GT(max_abs(forward.log_p - fi::standard_normal_log_density(forward.x)), 1e-2);
  }
}

TEST(Likelihood, BackwardInvertsTheForwardPassOfARandomMlpModel) {
  torch::manual_seed(3);
  fi::MlpOptions mlp;
  mlp.width = 32;
  mlp.depth = 2;
  auto model = std::make_shared<fi::MlpVelocity>(mlp);
  model->eval();
  const fi::VelocityFn velocity = fi::differentiable_model_velocity(model);
  const torch::Tensor x0 = random_points({64, 2}, 10).to(torch::kFloat32);
  torch::NoGradGuard callers_mode;
  // float32 and a float32 time embedding: RK4 with 20 steps is as good as it gets.
  fi::LikelihoodOptions options = solver_options(fi::SolverKind::kRk4);
  options.solve.num_steps = 20;
  const fi::LogDensity forward = fi::sample_with_log_density(velocity, x0, options);
  const fi::LogDensity backward = fi::log_likelihood(velocity, forward.x, options);
  EXPECT_LT(max_abs(backward.x - x0), 1e-4);
  EXPECT_LT(max_abs(backward.log_p - forward.log_p), 1e-4);
  EXPECT_GT(max_abs(forward.log_p - fi::standard_normal_log_density(forward.x)), 1e-2);
}

TEST(Likelihood, BitsPerDimFollowTheDocumentedFormula) {
  const torch::Tensor log_p = torch::tensor({-1.0, -3.0}, torch::kFloat64);
  const fi::LikelihoodResult plain = fi::summarize_log_density(log_p, 2, 0.0);
  EXPECT_DOUBLE_EQ(plain.nll_nats, 2.0);
  EXPECT_NEAR(plain.nll_stderr, 1.0, 1e-12);  // sample std sqrt(2), over sqrt(2)
  EXPECT_NEAR(plain.bits_per_dim, 2.0 / (2 * std::log(2.0)), 1e-12);
  const fi::LikelihoodResult image = fi::summarize_log_density(log_p, 2, std::log(127.5));
  EXPECT_NEAR(image.bits_per_dim, plain.bits_per_dim + std::log2(127.5), 1e-12);
  EXPECT_NEAR(image.bits_per_dim_stderr, 1.0 / (2 * std::log(2.0)), 1e-12);
  EXPECT_TRUE(std::isnan(fi::summarize_log_density(log_p.narrow(0, 0, 1), 2, 0.0).nll_stderr));
}

TEST(Likelihood, BadArgumentsThrow) {
  EXPECT_THROW(fi::parse_divergence_estimator("stochastic"), std::invalid_argument);
  EXPECT_THROW(fi::parse_probe_kind("uniform"), std::invalid_argument);
  EXPECT_EQ(fi::parse_divergence_estimator("hutchinson"), fi::DivergenceEstimator::kHutchinson);
  const torch::Tensor x1 = random_points({4, 2}, 12);
  fi::LikelihoodOptions options;
  options.num_probes = 0;
  EXPECT_THROW(fi::log_likelihood(linear_velocity(matrix_2x2()), x1, options),
               std::invalid_argument);
  // A velocity evaluated under no-grad has no Jacobian to take: refused, not read as zero.
  torch::manual_seed(1);
  fi::MlpOptions mlp;
  mlp.width = 8;
  mlp.depth = 1;
  auto model = std::make_shared<fi::MlpVelocity>(mlp);
  EXPECT_THROW(fi::log_likelihood(fi::model_velocity(model), x1.to(torch::kFloat32), {}),
               std::invalid_argument);
  fi::RunConfig config;
  config.source = "8gaussians";
  try {
    fi::check_likelihood_source(config);
    FAIL() << "a non-Gaussian source was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("8gaussians"), std::string::npos) << e.what();
  }
}

TEST(Likelihood, GridCentersRunRowMajorFromTheTopLeft) {
  const torch::Tensor grid = fi::log_density_grid(4, 2.0);
  ASSERT_EQ(grid.sizes(), torch::IntArrayRef({16, 2}));
  EXPECT_FLOAT_EQ(grid[0][0].item<float>(), -1.5f);
  EXPECT_FLOAT_EQ(grid[0][1].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(grid[1][0].item<float>(), -0.5f);
  EXPECT_FLOAT_EQ(grid[4][1].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(grid[15][0].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(grid[15][1].item<float>(), -1.5f);
  // Zero density (top-left cell) stays white; the highest value is the scale's top color.
  torch::Tensor log_p = torch::zeros({16}, torch::kFloat64);
  log_p[0] = -INFINITY;
  fi::PlotOptions plot;
  plot.extent = 2.0;
  plot.size = 16;
  const fi::Image image = fi::log_density_image(log_p, 4, -1.0, 0.0, plot);
  EXPECT_EQ(image.at(0, 0)[0], 255);
  EXPECT_EQ(image.at(0, 0)[2], 255);
  EXPECT_NE(image.at(15, 15)[2], 255);
}

// ---- The command line ----

namespace {

using fi::testing::CliRun;
using fi::testing::run_cli;

// An untrained small model directory with the given source.
std::string write_model(const fi::testing::TempDir& scratch, const std::string& source) {
  fi::RunConfig config;
  config.source = source;
  config.width = 16;
  config.depth = 1;
  config.fourier_features = 0;
  fi::seed_global(1);
  const fi::VelocityModelPtr model = fi::build_velocity_network(config);
  const std::string dir = scratch.file(source);
  fi::save_model_dir(dir, *model, config, 0);
  return dir;
}

void expect_usage_error(const std::string& arguments, const std::string& mention) {
  const CliRun run = run_cli(arguments);
  EXPECT_EQ(run.status, 2) << arguments << "\n" << run.output;
  EXPECT_EQ(run.output.rfind("error: ", 0), 0u) << run.output;
  EXPECT_NE(run.output.find(mention), std::string::npos) << run.output;
}

}  // namespace

TEST(LikelihoodCli, BadUsageExitsTwo) {
  const fi::testing::TempDir scratch("likelihood_cli");
  const std::string gaussian = write_model(scratch, "gaussian");
  const std::string eight_gaussians = write_model(scratch, "8gaussians");
  expect_usage_error("likelihood --model " + gaussian + " --estimator stochastic", "stochastic");
  expect_usage_error("likelihood --model " + eight_gaussians, "8gaussians");
  expect_usage_error(
      "sample --model " + eight_gaussians + " --with-logp --out " + scratch.file("s.csv"),
      "8gaussians");
  EXPECT_FALSE(std::filesystem::exists(scratch.file("s.csv")));
}

TEST(LikelihoodCli, PrintsJsonWritesTheHeatMapAndSampleLogp) {
  const fi::testing::TempDir scratch("likelihood_cli");
  const std::string model = write_model(scratch, "gaussian");
  const std::string image = scratch.file("map.png");
  CliRun run = run_cli("likelihood --model " + model +
                       " --n 200 --solver rk4 --steps 4 --grid 16 --estimator hutchinson "
                       "--probes 2 --json --out-image " +
                       image);
  ASSERT_EQ(run.status, 0) << run.output;
  std::string last = run.output;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
  ASSERT_FALSE(last.empty());
  EXPECT_EQ(last.front(), '{');
  for (const char* key : {"\"nll_nats\"", "\"nll_stderr\"", "\"bits_per_dim\"", "\"count\":200",
                          "\"estimator\":\"hutchinson\"", "\"solver\":\"rk4\"", "\"nfe\"",
                          "\"seconds\"", "\"true_entropy_nats\":3.46573"}) {
    EXPECT_NE(last.find(key), std::string::npos) << key << " in " << last;
  }
  EXPECT_GT(std::filesystem::file_size(image), 100u);

  const std::string csv = scratch.file("s.csv");
  run = run_cli("sample --model " + model + " --n 50 --solver rk4 --steps 4 --with-logp --out " +
                csv);
  ASSERT_EQ(run.status, 0) << run.output;
  std::ifstream in(csv);
  std::string header, row;
  std::getline(in, header);
  EXPECT_EQ(header, "x,y,logp");
  int rows = 0;
  while (std::getline(in, row)) {
    ++rows;
    EXPECT_EQ(std::count(row.begin(), row.end(), ','), 2) << row;
  }
  EXPECT_EQ(rows, 50);
}

// sample --with-logp --estimator hutchinson: the same samples, and log-densities that approach
// the exact ones as probes are added.
TEST(LikelihoodCli, SampleLogpWithHutchinsonProbesApproachesTheExactOne) {
  const fi::testing::TempDir scratch("likelihood_cli_hutch");
  const std::string model = write_model(scratch, "gaussian");
  auto read_rows = [](const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    std::vector<std::array<double, 3>> rows;
    while (std::getline(in, line)) {
      std::array<double, 3> row{};
      std::sscanf(line.c_str(), "%lf,%lf,%lf", &row[0], &row[1], &row[2]);
      rows.push_back(row);
    }
    return rows;
  };
  const std::string base = "sample --model " + model + " --n 40 --solver rk4 --steps 4 --with-logp";
  ASSERT_EQ(run_cli(base + " --out " + scratch.file("exact.csv")).status, 0);
  ASSERT_EQ(
      run_cli(base + " --estimator hutchinson --probes 1 --out " + scratch.file("h1.csv")).status,
      0);
  ASSERT_EQ(run_cli(base + " --estimator hutchinson --probes 400 --out " + scratch.file("h400.csv"))
                .status,
            0);
  const auto exact = read_rows(scratch.file("exact.csv"));
  const auto one = read_rows(scratch.file("h1.csv"));
  const auto many = read_rows(scratch.file("h400.csv"));
  ASSERT_EQ(exact.size(), 40u);
  ASSERT_EQ(many.size(), 40u);
  double error_one = 0, error_many = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    EXPECT_NEAR(exact[i][0], many[i][0], 1e-5);  // the same samples
    EXPECT_NEAR(exact[i][1], many[i][1], 1e-5);
    error_one += std::abs(exact[i][2] - one[i][2]) / 40;
    error_many += std::abs(exact[i][2] - many[i][2]) / 40;
  }
  EXPECT_LT(error_many, 0.05);
  EXPECT_LE(error_many, error_one + 1e-9);
  expect_usage_error(base + " --estimator guess --out " + scratch.file("x.csv"), "guess");
}
