// 2D teaching datasets. Every draw goes through the caller's generator; arithmetic is done in
// float64 and the points are returned as float32.
#include "flowinone/data/toy2d.h"

#include <ATen/ATen.h>

#include <cmath>

#include "flowinone/core/errors.h"

namespace fi {

namespace {

constexpr double kPi = 3.14159265358979323846;
const auto kDouble = at::TensorOptions().dtype(at::kDouble);
const auto kLong = at::TensorOptions().dtype(at::kLong);

void check_count(const char* dataset, std::int64_t n) {
  check_arg(n >= 0, "[", dataset, "] number of samples, ", n, ", must be non-negative");
}

// Picks one of num_choices integers uniformly for each of n draws: (n) int64.
at::Tensor uniform_choice(std::int64_t num_choices, std::int64_t n, at::Generator& generator) {
  return at::randint(num_choices, {n}, generator, kLong);
}

class Gaussian : public Toy2dDataset {
 public:
  torch::Tensor sample(std::int64_t n, at::Generator& generator) const override {
    check_count("gaussian", n);
    return at::randn({n, 2}, generator, at::TensorOptions().dtype(at::kFloat));
  }
  std::string name() const override { return "gaussian"; }
};

// Eight isotropic Gaussians centred at 5 (cos k pi/4, sin k pi/4), as torchcfm draws them: its
// "var=0.1" is passed as the covariance scale sqrt(0.1), so the variance is sqrt(0.1) ~ 0.316.
class EightGaussians : public Toy2dDataset {
 public:
  torch::Tensor sample(std::int64_t n, at::Generator& generator) const override {
    check_count("8gaussians", n);
    const at::Tensor angle = uniform_choice(8, n, generator).to(at::kDouble) * (kPi / 4);
    const at::Tensor centres = at::stack({at::cos(angle), at::sin(angle)}, 1) * 5.0;
    const at::Tensor noise = at::randn({n, 2}, generator, kDouble) * std::pow(0.1, 0.25);
    return (centres + noise).to(at::kFloat);
  }
  std::string name() const override { return "8gaussians"; }
};

// scikit-learn's make_moons (evenly spaced angles, shuffled, Gaussian noise 0.2), then * 3 - 1.
class Moons : public Toy2dDataset {
 public:
  torch::Tensor sample(std::int64_t n, at::Generator& generator) const override {
    check_count("moons", n);
    const std::int64_t n_outer = n / 2, n_inner = n - n_outer;
    const at::Tensor a = at::linspace(0.0, kPi, n_outer, kDouble);
    const at::Tensor b = at::linspace(0.0, kPi, n_inner, kDouble);
    const at::Tensor outer = at::stack({at::cos(a), at::sin(a)}, 1);
    const at::Tensor inner = at::stack({1.0 - at::cos(b), 0.5 - at::sin(b)}, 1);
    at::Tensor points = at::cat({outer, inner}, 0);
    points = points.index_select(0, at::randperm(n, generator, kLong));
    points = points + at::randn({n, 2}, generator, kDouble) * 0.2;
    return (points * 3.0 - 1.0).to(at::kFloat);
  }
  std::string name() const override { return "moons"; }
};

// Two concentric circles of radii 4 and 2, half the points on each, radial noise 0.1.
class Circles : public Toy2dDataset {
 public:
  torch::Tensor sample(std::int64_t n, at::Generator& generator) const override {
    check_count("circles", n);
    const at::Tensor radius = 2.0 + 2.0 * uniform_choice(2, n, generator).to(at::kDouble);
    const at::Tensor angle = at::rand({n}, generator, kDouble) * (2 * kPi);
    const at::Tensor circle = at::stack({at::cos(angle), at::sin(angle)}, 1) * radius.unsqueeze(1);
    return (circle + at::randn({n, 2}, generator, kDouble) * 0.1).to(at::kFloat);
  }
  std::string name() const override { return "circles"; }
};

// Two interleaved spirals of 1.5 turns each, r proportional to the angle, scaled to radius 4;
// sqrt of a uniform angle spreads the points evenly along the arc. Noise 0.1.
class Spirals : public Toy2dDataset {
 public:
  torch::Tensor sample(std::int64_t n, at::Generator& generator) const override {
    check_count("spirals", n);
    constexpr double kMaxAngle = 3 * kPi;
    const at::Tensor angle = at::sqrt(at::rand({n}, generator, kDouble)) * kMaxAngle;
    // The second spiral is the first turned by half a turn: sign -1.
    const at::Tensor sign = 1.0 - 2.0 * uniform_choice(2, n, generator).to(at::kDouble);
    const at::Tensor radius = angle * (4.0 / kMaxAngle) * sign;
    const at::Tensor spiral = at::stack({-at::cos(angle) * radius, at::sin(angle) * radius}, 1);
    return (spiral + at::randn({n, 2}, generator, kDouble) * 0.1).to(at::kFloat);
  }
  std::string name() const override { return "spirals"; }
};

const char* const kNames[] = {
    "gaussian", "checkerboard", "checkerboard-fine", "8gaussians", "moons", "circles", "spirals"};

}  // namespace

Checkerboard::Checkerboard(int squares_per_side, double half_width)
    : squares_per_side_(squares_per_side), half_width_(half_width) {
  check_arg(squares_per_side >= 2, "[Checkerboard] squares_per_side, ", squares_per_side,
            ", must be >= 2");
  check_arg(half_width > 0 && std::isfinite(half_width), "[Checkerboard] half_width, ", half_width,
            ", must be positive and finite");
}

std::string Checkerboard::name() const {
  if (squares_per_side_ == 4 && half_width_ == 4.0) return "checkerboard";
  if (squares_per_side_ == 8 && half_width_ == 4.0) return "checkerboard-fine";
  return "checkerboard-" + std::to_string(squares_per_side_);
}

int Checkerboard::num_filled_squares() const {
  // (i + j) even: ceil(k^2 / 2) squares.
  return (squares_per_side_ * squares_per_side_ + 1) / 2;
}

torch::Tensor Checkerboard::sample(std::int64_t n, at::Generator& generator) const {
  check_count("checkerboard", n);
  // Table of the filled squares' (column, row).
  std::vector<double> corners;
  for (int i = 0; i < squares_per_side_; ++i) {
    for (int j = 0; j < squares_per_side_; ++j) {
      if (is_filled(i, j)) {
        corners.push_back(i);
        corners.push_back(j);
      }
    }
  }
  const at::Tensor table = at::tensor(corners, kDouble).reshape({num_filled_squares(), 2});
  const at::Tensor square =
      table.index_select(0, uniform_choice(num_filled_squares(), n, generator));
  // A margin of 1e-6 of a square keeps float32 rounding from putting a point on the edge of an
  // empty neighbour; it changes the density by less than float32 can show.
  constexpr double kMargin = 1e-6;
  const at::Tensor u = at::rand({n, 2}, generator, kDouble) * (1.0 - 2 * kMargin) + kMargin;
  return ((square + u) * square_size() - half_width_).to(at::kFloat);
}

torch::Tensor Checkerboard::square_index(const torch::Tensor& points) const {
  check_arg(points.dim() == 2 && points.size(1) == 2,
            "[Checkerboard::square_index] points must have shape (N, 2), got ", points.sizes());
  const at::Tensor cell = at::floor((points.to(at::kDouble) + half_width_) / square_size());
  // NaN compares false, so NaN points count as outside.
  const at::Tensor inside = ((cell >= 0) & (cell < squares_per_side_)).all(1);
  const at::Tensor safe = at::where(inside.unsqueeze(1), cell, at::zeros_like(cell)).to(at::kLong);
  const at::Tensor index = safe.select(1, 0) * squares_per_side_ + safe.select(1, 1);
  return at::where(inside, index, at::full_like(index, -1));
}

torch::Tensor Checkerboard::in_filled_square(const torch::Tensor& points) const {
  const at::Tensor index = square_index(points);
  const at::Tensor parity =
      (at::div(index, squares_per_side_, "floor") + index.remainder(squares_per_side_))
          .remainder(2);
  return (index >= 0) & (parity == 0);
}

torch::Tensor Checkerboard::density(const torch::Tensor& points) const {
  const double filled_area = num_filled_squares() * square_size() * square_size();
  return in_filled_square(points).to(at::kDouble) * (1.0 / filled_area);
}

double Checkerboard::entropy() const {
  return std::log(num_filled_squares() * square_size() * square_size());
}

std::unique_ptr<Toy2dDataset> make_toy2d(const std::string& name) {
  if (name == "gaussian") return std::make_unique<Gaussian>();
  if (name == "checkerboard") return std::make_unique<Checkerboard>(4, 4.0);
  if (name == "checkerboard-fine") return std::make_unique<Checkerboard>(8, 4.0);
  if (name == "8gaussians") return std::make_unique<EightGaussians>();
  if (name == "moons") return std::make_unique<Moons>();
  if (name == "circles") return std::make_unique<Circles>();
  if (name == "spirals") return std::make_unique<Spirals>();
  std::string valid;
  for (const char* known : kNames) valid += (valid.empty() ? "" : ", ") + std::string(known);
  throw std::invalid_argument("[make_toy2d] unknown dataset '" + name + "' (valid: " + valid + ")");
}

std::vector<std::string> toy2d_names() { return {std::begin(kNames), std::end(kNames)}; }

}  // namespace fi
