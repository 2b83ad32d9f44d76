// A background loader: worker threads assemble batches of an ImageDataset ahead of the consumer,
// in a fixed, seeded order, into a bounded queue.
//
// Order. Epoch e visits the examples in a permutation drawn from a generator seeded with a mix of
// (seed, e), so it is the same for a given seed and epoch, differs between seeds and epochs, and
// can be computed again after a restart. Batch k of an epoch holds the permutation's entries
// [k B, (k + 1) B). With random_flip, each example is mirrored when a coin drawn from the same
// generator says so. Batches come out in this order whatever the workers' timing: each worker
// builds whole batches and the consumer waits for the next one in sequence.
//
// Position. position() is (epoch, batch within the epoch) of the batch next() returns next; a
// loader constructed with that position continues with exactly the batches an uninterrupted one
// would have given. Epochs follow each other without end.
//
// Threads. Workers do the per-example work (decoding, resizing, copying) with plain loops, not
// torch operations, so they do not start torch's intra-op threads on top of their own; size
// num_workers to the cores left over by the training step. With num_workers = 0 next() builds the
// batch itself, which suits in-memory data. A worker's exception is rethrown by next() when the
// consumer reaches the batch that failed (and again on every later call). The destructor stops
// and joins the workers after their current batch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "flowinone/data/image_dataset.h"

namespace fi {

struct LoaderOptions {
  std::int64_t batch_size = 64;
  int num_workers = 2;       // threads building batches; 0 builds them inside next()
  int prefetch = 4;          // batches built ahead of the consumer (>= 1): the queue's bound
  std::uint64_t seed = 0;    // seeds the per-epoch order and flips
  bool shuffle = true;       // false: index order every epoch
  bool drop_last = true;     // drop an epoch's last incomplete batch (every batch has batch_size)
  bool random_flip = false;  // mirror each example left to right with probability 1/2
};

struct LoaderPosition {
  std::int64_t epoch = 0;
  std::int64_t batch = 0;  // index of the batch within the epoch
  bool operator==(const LoaderPosition& other) const {
    return epoch == other.epoch && batch == other.batch;
  }
};

struct LoaderBatch : ImageBatch {
  LoaderPosition position;  // where this batch sits in the stream
};

class DataLoader {
 public:
  /// Starts the workers at `start`. Throws std::invalid_argument for bad options (including a
  /// dataset smaller than one batch with drop_last) or a start outside the epoch.
  DataLoader(std::shared_ptr<const ImageDataset> dataset, LoaderOptions options,
             LoaderPosition start = {});
  /// Stops and joins the workers; never waits for more than their current batch.
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// The next batch in order; blocks until it is built. Rethrows a worker's exception.
  LoaderBatch next();

  /// Position of the batch next() returns next.
  LoaderPosition position() const;
  std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
  const ImageDataset& dataset() const { return *dataset_; }

  /// Dataset indices of epoch `epoch` in visiting order (the full permutation).
  std::vector<std::int64_t> epoch_order(std::int64_t epoch) const;

 private:
  struct EpochPlan {
    std::vector<std::int64_t> order;  // (N) dataset indices
    std::vector<bool> flip;           // (N) per position in `order`; empty without random_flip
  };
  struct Result {
    LoaderBatch batch;
    std::exception_ptr error;
  };

  EpochPlan make_plan(std::int64_t epoch) const;
  std::shared_ptr<const EpochPlan> plan_locked(std::int64_t epoch);
  LoaderBatch build(const EpochPlan& plan, std::int64_t sequence) const;
  void work();

  std::shared_ptr<const ImageDataset> dataset_;
  LoaderOptions options_;
  std::int64_t batches_per_epoch_;

  mutable std::mutex mutex_;
  std::condition_variable ready_changed_;  // a batch was added to ready_
  std::condition_variable space_changed_;  // the consumer advanced, or stop_ was set
  std::int64_t next_claim_;                // sequence number the next idle worker builds
  std::int64_t next_deliver_;              // sequence number next() returns
  std::map<std::int64_t, Result> ready_;
  std::map<std::int64_t, std::shared_ptr<const EpochPlan>> plans_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace fi
