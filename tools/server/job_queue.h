// The server's jobs: any request run in the background (POST /v1/jobs -> 202 and an id), with its
// progress, its result kept for a while, and cancellation.
//
//   queued -> running -> done | failed | cancelled       (queued -> cancelled, when cancelled)
//
// A bounded queue (submit() past max_queued answers 429) feeds a fixed set of worker threads. A
// running job learns that it was cancelled through its JobControl, which its solve or training
// loop polls at every step, so it stops at its next step. A finished job is kept for keep_seconds,
// then forgotten: its id then answers 410 rather than 404. Every change bumps the job's version,
// which wait_for_change() waits on: the server-sent events of GET /v1/jobs/{id}/events.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fi::server {

struct JobLimits {
  std::size_t max_queued = 64;  // jobs waiting for a worker; past it submit() answers 429
  int workers = 2;              // jobs running at once
  double keep_seconds = 600;    // a finished job's result is kept this long, then 410
};

/// Thrown inside a job (through JobControl) when it was cancelled; ends it as "cancelled".
class JobCancelled : public std::runtime_error {
 public:
  JobCancelled() : std::runtime_error("the job was cancelled") {}
};

/// What a running job reports and polls. Thread-safe; a null JobControl* means "not a job".
class JobControl {
 public:
  virtual ~JobControl() = default;
  /// Progress: `step` of `total` (0 when not known in advance).
  virtual void progress(std::int64_t step, std::int64_t total) = 0;
  /// A training job's loss at `step`, appended to the job's loss curve.
  virtual void loss(std::int64_t step, double value) = 0;
  virtual bool cancel_requested() const = 0;
  /// Throws JobCancelled when the job was cancelled.
  void check_cancelled() const {
    if (cancel_requested()) throw JobCancelled();
  }
};

class JobQueue {
 public:
  /// Runs a job of `kind` on `request`; returns its result. Throws to fail it (the server turns
  /// the exception into the job's error JSON through `describe_error`).
  using Runner = std::function<nlohmann::json(const std::string& kind,
                                              const nlohmann::json& request, JobControl& control)>;
  using ErrorJson = std::function<nlohmann::json(std::exception_ptr)>;

  JobQueue(JobLimits limits, Runner runner, ErrorJson describe_error);
  ~JobQueue();  // shutdown(0)
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  /// Queues a job; returns its JSON (status "queued"). Throws QueueFull, or ShuttingDown.
  nlohmann::json submit(const std::string& kind, const nlohmann::json& request);
  /// The job's JSON (with its result once done). Throws UnknownJob (404) or ExpiredJob (410).
  nlohmann::json status(const std::string& id);
  /// Cancels a queued or running job; returns its JSON. Throws UnknownJob, ExpiredJob, or
  /// AlreadyFinished (409) for a job that has ended.
  nlohmann::json cancel(const std::string& id);
  /// Every job in the table, without results, oldest first.
  nlohmann::json list();

  /// Waits until the job's version passes `seen_version` or `timeout` passes; returns the job's
  /// JSON without its result unless it has ended, and sets `version` and `ended`.
  nlohmann::json wait_for_change(const std::string& id, std::uint64_t seen_version,
                                 std::chrono::milliseconds timeout, std::uint64_t& version,
                                 bool& ended);

  std::size_t queued() const;
  std::size_t running() const;
  const JobLimits& limits() const { return limits_; }

  /// Stops taking jobs, cancels the queued ones, waits up to `grace_seconds` for the running
  /// ones, then cancels those too and waits for the workers to end. Idempotent.
  void shutdown(double grace_seconds);

  struct QueueFull : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  struct ShuttingDown : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  struct UnknownJob : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  struct ExpiredJob : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  struct AlreadyFinished : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

 private:
  struct Job;
  class Control;
  using Clock = std::chrono::steady_clock;

  void work();
  void run(const std::shared_ptr<Job>& job);
  void finish(Job& job, const std::string& status);  // with mutex_ held
  std::shared_ptr<Job> find(const std::string& id);  // with mutex_ held; throws
  void forget_expired();                             // with mutex_ held
  nlohmann::json to_json(const Job& job, bool with_result) const;

  JobLimits limits_;
  Runner runner_;
  ErrorJson describe_error_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;  // a job was queued, or shutdown
  std::condition_variable changed_;     // any job changed
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::set<std::string> expired_;
  std::size_t running_ = 0;
  std::uint64_t next_number_ = 1;
  std::string id_prefix_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace fi::server
