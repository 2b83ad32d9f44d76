#include "solve_batcher.h"

#include <cmath>

#include "flowinone/generative/point_rows.h"

namespace fi::server {

namespace {

// The step whose state is kept as the k-th of `states` over a solve of `total` steps.
std::int64_t kept_step(int k, int states, std::int64_t total) {
  return std::llround(static_cast<double>(k) * static_cast<double>(total) / (states - 1));
}

// Keeps the states an item asked for (step 0 is x0), from its rows of the batch.
void keep_states(BatchItem& item, std::int64_t offset, const SolveStep& step) {
  if (item.states < 2 || step.total <= 0) return;
  for (int k = 0; k < item.states; ++k) {
    if (kept_step(k, item.states, step.total) != step.step) continue;
    item.result.times.push_back(step.t);
    item.result.trajectory.push_back(step.x->narrow(0, offset, item.n).clone());
  }
}

}  // namespace

SolveBatcher::SolveBatcher(GenerativeModelPtr model, std::int64_t max_rows, ServerMetrics* metrics,
                           bool merge_images)
    : model_(std::move(model)),
      integrates_(model_->describe().integrates),
      merges_(integrates_ && (merge_images || !model_->describe().is_image)),
      points_(!model_->describe().is_image),
      max_rows_(max_rows),
      metrics_(metrics) {}

std::int64_t SolveBatcher::rows_of(const BatchItem& item) const {
  return points_ ? padded_point_rows(item.n) : item.n;
}

void SolveBatcher::run(BatchItem& item) {
  std::unique_lock<std::mutex> lock(mutex_);
  pending_.push_back(&item);
  while (!item.done) {
    if (busy_) {
      finished_.wait(lock);
      continue;
    }
    // The model is idle: solve the oldest request with those that can share its solve. The
    // thread that leads may not be in its own batch; it loops until its item is done.
    busy_ = true;
    const std::vector<BatchItem*> batch = take_batch();
    lock.unlock();
    execute(batch);
    lock.lock();
    for (BatchItem* member : batch) member->done = true;
    busy_ = false;
    finished_.notify_all();
  }
  if (item.error) std::rethrow_exception(item.error);
}

std::size_t SolveBatcher::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_.size();
}

bool SolveBatcher::compatible(const BatchItem& first, const BatchItem& other) const {
  const SolveOptions& a = first.options.solve;
  const SolveOptions& b = other.options.solve;
  return merges_ && first.translate == other.translate &&
         first.labels.defined() == other.labels.defined() && a.solver == b.solver &&
         a.solver != SolverKind::kDopri5 && a.num_steps == b.num_steps &&
         first.options.guidance == other.options.guidance;
}

std::vector<BatchItem*> SolveBatcher::take_batch() {
  std::vector<BatchItem*> batch = {pending_.front()};
  pending_.pop_front();
  std::int64_t rows = rows_of(*batch.front());
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (compatible(*batch.front(), **it) && rows + rows_of(**it) <= max_rows_) {
      rows += rows_of(**it);
      batch.push_back(*it);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

void SolveBatcher::execute(const std::vector<BatchItem*>& batch) {
  const BatchItem& first = *batch.front();
  std::vector<std::int64_t> offsets;
  std::int64_t rows = 0;
  for (const BatchItem* item : batch) {
    offsets.push_back(rows);
    rows += batch.size() == 1 ? item->n : rows_of(*item);
  }
  try {
    GenerationOptions options = first.options;
    if (integrates_) {
      std::vector<torch::Tensor> noise;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        noise.push_back(model_->source_noise(batch[i]->n, batch[i]->options.seed));
        const std::int64_t end = i + 1 < batch.size() ? offsets[i + 1] : rows;
        if (end > offsets[i] + batch[i]->n) {  // zero rows up to the next tile
          std::vector<std::int64_t> shape = noise.back().sizes().vec();
          shape[0] = end - offsets[i] - batch[i]->n;
          noise.push_back(torch::zeros(shape, noise.back().options()));
        }
      }
      options.noise = noise.size() == 1 ? noise[0] : torch::cat(noise);
      options.batch_size = std::max(options.batch_size, rows);  // one solve for every row
      options.solve.record_trajectory = false;
      options.solve.on_step = [&](const SolveStep& step) {
        bool live = false;
        for (std::size_t i = 0; i < batch.size(); ++i) {
          BatchItem& item = *batch[i];
          if (item.cancelled) continue;
          if (item.control != nullptr) {
            if (item.control->cancel_requested()) {
              item.cancelled = true;  // its rows go on with the others; its result is dropped
              continue;
            }
            item.control->progress(step.step, step.total);
          }
          live = true;
          keep_states(item, offsets[i], step);
        }
        if (!live) throw JobCancelled();
      };
    }
    Generated generated;
    if (first.translate) {
      std::vector<torch::Tensor> inputs;
      for (const BatchItem* item : batch) inputs.push_back(item->inputs);
      generated = model_->translate(inputs.size() == 1 ? inputs[0] : torch::cat(inputs), options);
    } else {
      torch::Tensor labels;
      if (first.labels.defined()) {
        std::vector<torch::Tensor> parts;
        for (const BatchItem* item : batch) parts.push_back(item->labels);
        labels = parts.size() == 1 ? parts[0] : torch::cat(parts);
      }
      generated = model_->sample(rows, labels, options);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      BatchItem& item = *batch[i];
      item.result.x = generated.x.narrow(0, offsets[i], item.n);
      item.result.nfe = generated.nfe;
      item.batch_requests = static_cast<std::int64_t>(batch.size());
    }
    if (metrics_ != nullptr) {
      const bool images = generated.x.dim() > 2;
      metrics_->batch(static_cast<std::int64_t>(batch.size()), generated.nfe);
      std::int64_t served = 0;
      for (const BatchItem* item : batch) served += item->n;
      metrics_->served(images ? served : 0, images ? 0 : served);
    }
  } catch (...) {
    for (BatchItem* item : batch) item->error = std::current_exception();
  }
  for (BatchItem* item : batch) {
    if (item->cancelled) item->error = std::make_exception_ptr(JobCancelled());
  }
}

}  // namespace fi::server
