// Dynamic batching: generate and translate requests that reach one model at the same time with
// the same settings (kind, solver, steps, guidance, class or none) run as one batched solve.
//
// No thread of its own and no waiting window: the first request to find the model idle solves
// whatever compatible requests are queued then (up to max_rows rows), while the requests that
// arrive during that solve queue up for the next one. One solve runs per model at a time.
//
// Each request brings its own noise, drawn from its own seed (GenerativeModel::source_noise).
// For 2D points that makes its rows the same bytes whether it was solved alone or in a batch:
// each request starts at a whole tile of kPointRowTile rows, where the matrix products compute a
// row the same way whatever else is in the batch (tests/test_server.cpp checks the bytes).
// Pictures are merged only when merge_images is set: oneDNN picks its convolution kernels by
// batch size (a 1x1 convolution of fewer than 16 pictures is computed differently from one of
// 40 on one thread), so a merged picture equals its solve alone only to float rounding
// (measured in docs/server.md); by default each picture request is solved alone, and its bytes
// are those of the command line. Dopri5 never merges: its step sizes depend on every row.
// Models that do not integrate (normalizing flows) run one request at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <vector>

#include "flowinone/generative/generative_model.h"
#include "job_queue.h"
#include "server_metrics.h"

namespace fi::server {

/// One request's part of a batched solve.
struct BatchItem {
  bool translate = false;
  std::int64_t n = 0;             // rows: samples, or input pictures
  torch::Tensor labels;           // (n) int64, or undefined
  torch::Tensor inputs;           // translate: (n, C, H, W) in [-1, 1]
  GenerationOptions options;      // the item's own seed; solve, guidance, temperature
  int states = 0;                 // >= 2: keep this many states from t = 0 to 1 (fixed steps only)
  JobControl* control = nullptr;  // a job's progress and cancellation; null for a plain request

  // Filled by the solve.
  Generated result;                 // x (n, ...); times and trajectory hold the `states` kept
  std::int64_t batch_requests = 0;  // how many requests shared the solve
  std::exception_ptr error;
  bool done = false;
  bool cancelled = false;
};

class SolveBatcher {
 public:
  /// max_rows: the most rows one merged solve takes (a larger request runs alone);
  /// merge_images: merge picture requests too (faster, equal to alone only to float rounding).
  SolveBatcher(GenerativeModelPtr model, std::int64_t max_rows, ServerMetrics* metrics,
               bool merge_images = false);

  /// Runs `item`, alone or merged with others; returns when it is done, rethrowing its error
  /// (JobCancelled when its job was cancelled).
  void run(BatchItem& item);

  /// Requests waiting for the solve in progress to end.
  std::size_t pending() const;

 private:
  bool compatible(const BatchItem& first, const BatchItem& other) const;
  std::int64_t rows_of(const BatchItem& item) const;  // rows it takes in a merged solve
  std::vector<BatchItem*> take_batch();               // with mutex_ held
  void execute(const std::vector<BatchItem*>& batch);

  GenerativeModelPtr model_;
  bool integrates_;
  bool merges_;  // whether any two requests may share a solve
  bool points_;  // 2D points: requests start at whole tiles of kPointRowTile rows
  std::int64_t max_rows_;
  ServerMetrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable finished_;
  std::deque<BatchItem*> pending_;
  bool busy_ = false;
};

}  // namespace fi::server
