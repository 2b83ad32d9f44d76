#include "flowinone/data/loader.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"

namespace fi {
namespace {

// SplitMix64's finaliser: nearby (seed, epoch) pairs get unrelated generator seeds.
std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const ImageDataset> dataset, LoaderOptions options,
                       LoaderPosition start)
    : dataset_(std::move(dataset)), options_(options) {
  check_arg(dataset_ != nullptr, "[DataLoader] dataset is null");
  check_arg(options.batch_size >= 1, "[DataLoader] batch_size must be positive, got ",
            options.batch_size);
  check_arg(options.num_workers >= 0 && options.num_workers <= 64,
            "[DataLoader] num_workers must be in 0..64, got ", options.num_workers);
  check_arg(options.prefetch >= 1 && options.prefetch <= 1024,
            "[DataLoader] prefetch must be in 1..1024, got ", options.prefetch);
  const std::int64_t n = dataset_->size();
  check_arg(n >= 1, "[DataLoader] the dataset is empty");
  batches_per_epoch_ = options.drop_last ? n / options.batch_size
                                         : (n + options.batch_size - 1) / options.batch_size;
  check_arg(batches_per_epoch_ >= 1, "[DataLoader] batch_size ", options.batch_size,
            " exceeds the dataset's ", n, " examples (with drop_last)");
  check_arg(start.epoch >= 0 && start.batch >= 0 && start.batch < batches_per_epoch_,
            "[DataLoader] start position (epoch ", start.epoch, ", batch ", start.batch,
            ") outside 0..", batches_per_epoch_ - 1, " batches per epoch");
  next_claim_ = next_deliver_ = start.epoch * batches_per_epoch_ + start.batch;
  // Fewer workers than the queue holds, or some would always sit idle.
  const int num_workers = std::min(options.num_workers, options.prefetch);
  for (int i = 0; i < num_workers; ++i) workers_.emplace_back([this] { work(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  space_changed_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

DataLoader::EpochPlan DataLoader::make_plan(std::int64_t epoch) const {
  const std::int64_t n = dataset_->size();
  EpochPlan plan;
  at::Generator generator = make_generator(mix64(options_.seed ^ mix64(std::uint64_t(epoch))));
  if (options_.shuffle) {
    const at::Tensor order = at::randperm(n, generator, at::TensorOptions().dtype(at::kLong));
    plan.order.assign(order.data_ptr<std::int64_t>(), order.data_ptr<std::int64_t>() + n);
  } else {
    plan.order.resize(n);
    for (std::int64_t i = 0; i < n; ++i) plan.order[i] = i;
  }
  if (options_.random_flip) {
    const at::Tensor coins = at::randint(2, {n}, generator, at::TensorOptions().dtype(at::kLong));
    const std::int64_t* coin = coins.data_ptr<std::int64_t>();
    plan.flip.assign(coin, coin + n);
  }
  return plan;
}

std::shared_ptr<const DataLoader::EpochPlan> DataLoader::plan_locked(std::int64_t epoch) {
  auto it = plans_.find(epoch);
  if (it == plans_.end()) {
    it = plans_.emplace(epoch, std::make_shared<const EpochPlan>(make_plan(epoch))).first;
  }
  return it->second;
}

LoaderBatch DataLoader::build(const EpochPlan& plan, std::int64_t sequence) const {
  const std::int64_t batch = sequence % batches_per_epoch_;
  const std::int64_t begin = batch * options_.batch_size;
  const std::int64_t end =
      std::min<std::int64_t>(begin + options_.batch_size, std::int64_t(plan.order.size()));
  const std::vector<std::int64_t> indices(plan.order.begin() + begin, plan.order.begin() + end);
  std::vector<bool> flip;
  if (!plan.flip.empty()) flip.assign(plan.flip.begin() + begin, plan.flip.begin() + end);
  LoaderBatch out;
  static_cast<ImageBatch&>(out) = dataset_->get_batch(indices, flip);
  out.position = {sequence / batches_per_epoch_, batch};
  return out;
}

void DataLoader::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    if (next_claim_ >= next_deliver_ + options_.prefetch) {
      space_changed_.wait(lock);
      continue;
    }
    const std::int64_t sequence = next_claim_++;
    Result result;
    try {
      const std::shared_ptr<const EpochPlan> plan = plan_locked(sequence / batches_per_epoch_);
      lock.unlock();
      result.batch = build(*plan, sequence);
    } catch (...) {
      result.error = std::current_exception();
    }
    if (!lock.owns_lock()) lock.lock();
    ready_.emplace(sequence, std::move(result));
    ready_changed_.notify_all();
  }
}

LoaderBatch DataLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::int64_t sequence = next_deliver_;
  if (workers_.empty()) {
    const std::shared_ptr<const EpochPlan> plan = plan_locked(sequence / batches_per_epoch_);
    LoaderBatch batch = build(*plan, sequence);
    ++next_deliver_;
    next_claim_ = next_deliver_;
    plans_.erase(plans_.begin(), plans_.lower_bound(next_deliver_ / batches_per_epoch_));
    return batch;
  }
  ready_changed_.wait(lock, [&] { return ready_.count(sequence) > 0; });
  auto it = ready_.find(sequence);
  // A failed batch stays in place: every later call fails the same way.
  if (it->second.error) std::rethrow_exception(it->second.error);
  LoaderBatch batch = std::move(it->second.batch);
  ready_.erase(it);
  ++next_deliver_;
  plans_.erase(plans_.begin(), plans_.lower_bound(next_deliver_ / batches_per_epoch_));
  lock.unlock();
  space_changed_.notify_all();
  return batch;
}

LoaderPosition DataLoader::position() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {next_deliver_ / batches_per_epoch_, next_deliver_ % batches_per_epoch_};
}

std::vector<std::int64_t> DataLoader::epoch_order(std::int64_t epoch) const {
  check_arg(epoch >= 0, "[DataLoader::epoch_order] epoch must be non-negative, got ", epoch);
  return make_plan(epoch).order;
}

}  // namespace fi
