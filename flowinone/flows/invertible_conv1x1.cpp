#include "flowinone/flows/invertible_conv1x1.h"

#include <cmath>
#include <utility>
#include <vector>

#include "flowinone/core/errors.h"

namespace fi {

namespace {
// Doolittle LU with partial pivoting of an n x n row-major matrix a, in place: afterwards the
// strict lower triangle holds L (unit diagonal implied), the rest U, and row r of the result
// comes from row perm[r] of the input, i.e. A[perm[r]] = (L U)[r].
std::vector<std::int64_t> lu_in_place(std::vector<double>& a, std::int64_t n) {
  std::vector<std::int64_t> perm(n);
  for (std::int64_t i = 0; i < n; ++i) perm[i] = i;
  for (std::int64_t k = 0; k < n; ++k) {
    std::int64_t pivot = k;
    for (std::int64_t i = k + 1; i < n; ++i) {
      if (std::abs(a[i * n + k]) > std::abs(a[pivot * n + k])) pivot = i;
    }
    if (pivot != k) {
      for (std::int64_t j = 0; j < n; ++j) std::swap(a[k * n + j], a[pivot * n + j]);
      std::swap(perm[k], perm[pivot]);
    }
    for (std::int64_t i = k + 1; i < n; ++i) {
      a[i * n + k] /= a[k * n + k];
      for (std::int64_t j = k + 1; j < n; ++j) a[i * n + j] -= a[i * n + k] * a[k * n + j];
    }
  }
  return perm;
}
}  // namespace

InvertibleConv1x1::InvertibleConv1x1(std::int64_t channels) : channels_(channels) {
  check_arg(channels >= 1, "[InvertibleConv1x1] channels must be >= 1, got ", channels);
  const std::int64_t n = channels;
  // A random rotation: Q of the QR decomposition of a Gaussian matrix.
  const torch::Tensor gaussian = torch::randn({n, n}, torch::kFloat64);
  const torch::Tensor rotation = std::get<0>(at::linalg_qr(gaussian, "reduced")).contiguous();
  std::vector<double> a(rotation.data_ptr<double>(), rotation.data_ptr<double>() + n * n);
  const std::vector<std::int64_t> perm = lu_in_place(a, n);

  torch::Tensor lu = torch::from_blob(a.data(), {n, n}, torch::kFloat64).clone();
  torch::Tensor permutation = torch::zeros({n, n}, torch::kFloat64);
  auto entries = permutation.accessor<double, 2>();
  for (std::int64_t r = 0; r < n; ++r) entries[perm[r]][r] = 1.0;  // W = P (L U)
  const torch::Tensor diagonal = lu.diagonal();
  permutation_ = register_buffer("permutation", permutation.to(torch::kFloat32));
  lower_ = register_parameter("lower", torch::tril(lu, -1).to(torch::kFloat32));
  upper_ = register_parameter("upper", torch::triu(lu, 1).to(torch::kFloat32));
  log_abs_s_ = register_parameter("log_abs_s", diagonal.abs().log().to(torch::kFloat32));
  sign_s_ = register_buffer("sign_s", diagonal.sign().to(torch::kFloat32));
  lower_mask_ = register_buffer("lower_mask", torch::tril(torch::ones({n, n}), -1));
}

torch::Tensor InvertibleConv1x1::weight() const {
  const torch::Tensor eye = torch::eye(channels_, lower_.options());
  const torch::Tensor lower = lower_ * lower_mask_ + eye;
  const torch::Tensor upper =
      upper_ * lower_mask_.t() + torch::diag(sign_s_ * torch::exp(log_abs_s_));
  return torch::matmul(permutation_, torch::matmul(lower, upper));
}

void InvertibleConv1x1::check_input(const torch::Tensor& x) const {
  check_arg((x.dim() == 2 || x.dim() == 4) && x.size(1) == channels_,
            "[InvertibleConv1x1] x must be (B, ", channels_, ") or (B, ", channels_,
            ", H, W), got ", x.sizes());
}

BijectorOutput InvertibleConv1x1::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  check_input(x);
  const torch::Tensor w = weight();
  const std::int64_t positions = x.dim() == 4 ? x.size(2) * x.size(3) : 1;
  const torch::Tensor logdet = (log_abs_s_.sum() * positions).expand({x.size(0)});
  if (x.dim() == 2) return {torch::matmul(x, w.t()), logdet};
  return {torch::conv2d(x, w.view({channels_, channels_, 1, 1})), logdet};
}

torch::Tensor InvertibleConv1x1::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  check_input(z);
  // Inverted in float64: the round trip then stays at float32 rounding for any C.
  const torch::Tensor w_inv = torch::inverse(weight().to(torch::kFloat64)).to(z.dtype());
  if (z.dim() == 2) return torch::matmul(z, w_inv.t());
  return torch::conv2d(z, w_inv.view({channels_, channels_, 1, 1}));
}

}  // namespace fi
