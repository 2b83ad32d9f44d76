#include "flowinone/train/gradient_reducer.h"

#include <chrono>

#include "flowinone/core/errors.h"

namespace fi {

GradientReducer::GradientReducer(std::vector<torch::Tensor> parameters,
                                 DistributedContextPtr context,
                                 const GradientReducerOptions& options)
    : parameters_(std::move(parameters)), context_(std::move(context)), options_(options) {
  check_arg(context_ != nullptr, "[GradientReducer] a process group is required");
  check_arg(options_.bucket_bytes > 0, "[GradientReducer] bucket_bytes must be positive, got ",
            options_.bucket_bytes);
  slots_.resize(parameters_.size());
  // Reverse order: backward produces the last layers' gradients first, so buckets fill in turn.
  std::int64_t bucket_bytes = 0, bucket_numel = 0;
  for (std::int64_t i = static_cast<std::int64_t>(parameters_.size()) - 1; i >= 0; --i) {
    const torch::Tensor& p = parameters_[i];
    check_arg(p.defined() && p.is_floating_point(), "[GradientReducer] parameter ", i,
              " must be a floating-point tensor");
    const std::int64_t bytes = p.numel() * static_cast<std::int64_t>(p.element_size());
    const bool fits = !buckets_.empty() && bucket_bytes + bytes <= options_.bucket_bytes &&
                      buckets_.back().flat.scalar_type() == p.scalar_type() &&
                      buckets_.back().flat.device() == p.device();
    if (!fits) {
      buckets_.emplace_back();
      buckets_.back().flat = torch::empty({0}, p.options().requires_grad(false));
      bucket_bytes = bucket_numel = 0;
    }
    slots_[i] = Slot{static_cast<std::int64_t>(buckets_.size()) - 1, bucket_numel, false};
    buckets_.back().parameters.push_back(i);
    bucket_bytes += bytes;
    bucket_numel += p.numel();
  }
  for (Bucket& bucket : buckets_) {
    std::int64_t numel = 0;
    for (std::int64_t j : bucket.parameters) numel += parameters_[j].numel();
    bucket.flat = torch::zeros({numel}, bucket.flat.options());
  }
  if (options_.overlap) {
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      if (!parameters_[i].requires_grad()) {
        hook_handles_.push_back(~0u);
        continue;
      }
      const auto index = static_cast<std::int64_t>(i);
      hook_handles_.push_back(parameters_[i].register_hook(
          [this, index](const torch::Tensor& grad) { on_gradient(index, grad); }));
    }
  }
}

GradientReducer::~GradientReducer() {
  for (std::size_t i = 0; i < hook_handles_.size(); ++i) {
    if (hook_handles_[i] != ~0u) parameters_[i].remove_hook(hook_handles_[i]);
  }
}

void GradientReducer::prepare_for_backward() { armed_ = options_.overlap; }

void GradientReducer::on_gradient(std::int64_t index, const torch::Tensor& grad) {
  if (!armed_ || slots_[index].ready) return;
  Slot& slot = slots_[index];
  Bucket& bucket = buckets_[slot.bucket];
  const torch::Tensor& p = parameters_[index];
  torch::NoGradGuard no_grad;
  torch::Tensor view = bucket.flat.narrow(0, slot.offset, p.numel());
  view.copy_(grad.reshape({-1}));
  // The hook runs before autograd adds `grad` into .grad: add what earlier micro-batches left.
  if (p.grad().defined()) view.add_(p.grad().reshape({-1}));
  slot.ready = true;
  if (++bucket.num_ready == static_cast<std::int64_t>(bucket.parameters.size()))
    launch_ready_buckets();
}

void GradientReducer::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() &&
         buckets_[next_launch_].num_ready ==
             static_cast<std::int64_t>(buckets_[next_launch_].parameters.size())) {
    launch(buckets_[next_launch_++]);
  }
}

void GradientReducer::launch(Bucket& bucket) {
  // Divide first: the sum of means stays in the gradients' range whatever the world size.
  bucket.flat.div_(static_cast<double>(context_->world_size()));
  bucket.pending = context_->all_reduce_sum_async(bucket.flat);
}

void GradientReducer::fill_from_grad(std::int64_t index) {
  Slot& slot = slots_[index];
  const torch::Tensor& p = parameters_[index];
  torch::Tensor view = buckets_[slot.bucket].flat.narrow(0, slot.offset, p.numel());
  if (p.grad().defined()) {
    view.copy_(p.grad().reshape({-1}));
  } else {
    view.zero_();
  }
  slot.ready = true;
  ++buckets_[slot.bucket].num_ready;
}

void GradientReducer::finish() {
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  armed_ = false;
  for (std::size_t b = next_launch_; b < buckets_.size(); ++b) {
    for (std::int64_t index : buckets_[b].parameters) {
      if (!slots_[index].ready) fill_from_grad(index);
    }
  }
  launch_ready_buckets();
  for (Bucket& bucket : buckets_) {
    bucket.pending.wait();
    for (std::int64_t index : bucket.parameters) {
      torch::Tensor& p = parameters_[index];
      const torch::Tensor mean = bucket.flat.narrow(0, slots_[index].offset, p.numel()).view_as(p);
      if (p.grad().defined()) {
        p.mutable_grad().copy_(mean);
      } else {
        p.mutable_grad() = mean.clone();
      }
      slots_[index].ready = false;
    }
    bucket.num_ready = 0;
  }
  next_launch_ = 0;
  ++num_reductions_;
  communication_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace fi
