// 2D teaching datasets: samplers over R^2 with a seed, and the checkerboard's exact density.
//
// Each dataset draws (n, 2) float32 CPU tensors from an explicit generator, so the same seed gives
// the same points. Names (for configs and the command line):
//   gaussian           standard normal N(0, I) (the usual source)
//   checkerboard       4x4 checkerboard over [-4, 4]^2, half of the squares filled, uniform inside
//   checkerboard-fine  8x8 checkerboard over [-4, 4]^2
//   8gaussians         eight Gaussians (variance sqrt(0.1)) on a circle of radius 5 (torchcfm's)
//   moons              two interleaving half circles, noise 0.2, scaled by 3 and shifted by -1
//                      (torchcfm's)
//   circles            two concentric circles with noise
//   spirals            two interleaved spirals
// The checkerboard square (i, j) (column i from the left, row j from the bottom) is filled when
// (i + j) is even; so the corner square holding (-4, -4) is filled.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace fi {

class Toy2dDataset {
 public:
  virtual ~Toy2dDataset() = default;
  /// n points, (n, 2) float32 on the CPU, drawn from `generator`.
  virtual torch::Tensor sample(std::int64_t n, at::Generator& generator) const = 0;
  virtual std::string name() const = 0;
};

class Checkerboard : public Toy2dDataset {
 public:
  /// squares_per_side >= 2 over [-half_width, half_width]^2.
  explicit Checkerboard(int squares_per_side = 4, double half_width = 4.0);

  torch::Tensor sample(std::int64_t n, at::Generator& generator) const override;
  std::string name() const override;

  int squares_per_side() const { return squares_per_side_; }
  double half_width() const { return half_width_; }
  double square_size() const { return 2.0 * half_width_ / squares_per_side_; }
  int num_filled_squares() const;
  /// Whether square (i, j) is filled; i is the column from the left, j the row from the bottom.
  bool is_filled(int i, int j) const { return (i + j) % 2 == 0; }
  /// Index i * squares_per_side + j of the square holding each point, or -1 outside the board.
  /// points (N, 2) -> (N) int64.
  torch::Tensor square_index(const torch::Tensor& points) const;
  /// Whether each point lies in a filled square: (N, 2) -> (N) bool.
  torch::Tensor in_filled_square(const torch::Tensor& points) const;
  /// Exact density at each point: 1 / filled area inside filled squares, 0 elsewhere. (N) float64.
  torch::Tensor density(const torch::Tensor& points) const;
  /// Differential entropy of the density, log(filled area) nats.
  double entropy() const;

 private:
  int squares_per_side_;
  double half_width_;
};

/// The dataset with this name (see the list above); throws std::invalid_argument listing names.
std::unique_ptr<Toy2dDataset> make_toy2d(const std::string& name);

/// All valid dataset names, in a stable order.
std::vector<std::string> toy2d_names();

}  // namespace fi
