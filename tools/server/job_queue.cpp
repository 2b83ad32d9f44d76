#include "job_queue.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>

namespace fi::server {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxRememberedExpired = 100000;  // ids that answer 410 rather than 404

bool ended(const std::string& status) {
  return status == "done" || status == "failed" || status == "cancelled";
}

}  // namespace

struct JobQueue::Job {
  std::string id;
  std::string kind;
  json request;
  std::string status = "queued";
  std::int64_t step = 0;
  std::int64_t total = 0;
  json result;
  json error;
  json loss = json::array();
  std::atomic<bool> cancel{false};
  Clock::time_point created = Clock::now();
  Clock::time_point started;
  Clock::time_point finished;
  std::uint64_t version = 1;
};

class JobQueue::Control : public JobControl {
 public:
  Control(JobQueue& queue, Job& job) : queue_(queue), job_(job) {}
  void progress(std::int64_t step, std::int64_t total) override {
    std::lock_guard<std::mutex> lock(queue_.mutex_);
    job_.step = step;
    job_.total = total;
    ++job_.version;
    queue_.changed_.notify_all();
  }
  void loss(std::int64_t step, double value) override {
    std::lock_guard<std::mutex> lock(queue_.mutex_);
    job_.loss.push_back({step, value});
    ++job_.version;
    queue_.changed_.notify_all();
  }
  bool cancel_requested() const override { return job_.cancel; }

 private:
  JobQueue& queue_;
  Job& job_;
};

JobQueue::JobQueue(JobLimits limits, Runner runner, ErrorJson describe_error)
    : limits_(limits), runner_(std::move(runner)), describe_error_(std::move(describe_error)) {
  // A prefix per server run, so that a restarted server does not hand out a finished job's id
  // to a new job (a client polling the old id would read another's result).
  std::random_device device;
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%08x", static_cast<unsigned>(device()));
  id_prefix_ = std::string("job-") + prefix + "-";
  for (int i = 0; i < std::max(1, limits_.workers); ++i) workers_.emplace_back([this] { work(); });
}

JobQueue::~JobQueue() { shutdown(0); }

json JobQueue::submit(const std::string& kind, const json& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  forget_expired();
  if (stopping_) throw ShuttingDown("the server is shutting down");
  if (queue_.size() >= limits_.max_queued) {
    throw QueueFull("the job queue is full (" + std::to_string(limits_.max_queued) +
                    " waiting): try again later");
  }
  auto job = std::make_shared<Job>();
  job->id = id_prefix_ + std::to_string(next_number_++);
  job->kind = kind;
  job->request = request;
  jobs_[job->id] = job;
  queue_.push_back(job);
  work_ready_.notify_one();
  return to_json(*job, false);
}

json JobQueue::status(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  forget_expired();
  const auto job = find(id);
  return to_json(*job, true);
}

json JobQueue::cancel(const std::string& id) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto job = find(id);
  if (ended(job->status)) {
    throw AlreadyFinished("the job " + id + " has already ended (" + job->status + ")");
  }
  job->cancel = true;
  if (job->status == "queued") {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (*it == job) {
        queue_.erase(it);
        break;
      }
    }
    finish(*job, "cancelled");
  } else {
    // A running job stops at its next step: wait a little so the answer says it has.
    ++job->version;
    changed_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return ended(job->status); });
  }
  json answer = to_json(*job, false);
  if (!ended(job->status)) answer["cancel_requested"] = true;
  return answer;
}

json JobQueue::list() {
  std::lock_guard<std::mutex> lock(mutex_);
  forget_expired();
  std::vector<std::shared_ptr<Job>> all;
  for (const auto& entry : jobs_) all.push_back(entry.second);
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a->created < b->created; });
  json jobs = json::array();
  for (const auto& job : all) jobs.push_back(to_json(*job, false));
  return {{"jobs", jobs}, {"queued", queue_.size()}, {"running", running_}};
}

json JobQueue::wait_for_change(const std::string& id, std::uint64_t seen_version,
                               std::chrono::milliseconds timeout, std::uint64_t& version,
                               bool& has_ended) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto job = find(id);
  changed_.wait_for(lock, timeout, [&] { return job->version > seen_version || stopping_; });
  version = job->version;
  has_ended = ended(job->status);
  return to_json(*job, has_ended);
}

std::size_t JobQueue::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

std::size_t JobQueue::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

void JobQueue::shutdown(double grace_seconds) {
  std::vector<std::thread> workers;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      for (const auto& job : queue_) {
        job->cancel = true;
        finish(*job, "cancelled");
      }
      queue_.clear();
      work_ready_.notify_all();
      changed_.notify_all();
    }
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(std::max(0.0, grace_seconds)));
    changed_.wait_until(lock, deadline, [&] { return running_ == 0; });
    for (const auto& entry : jobs_) {
      if (entry.second->status == "running") entry.second->cancel = true;
    }
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.join();
}

void JobQueue::work() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      job = queue_.front();
      queue_.pop_front();
      job->status = "running";
      job->started = Clock::now();
      ++job->version;
      ++running_;
      changed_.notify_all();
    }
    run(job);
  }
}

void JobQueue::run(const std::shared_ptr<Job>& job) {
  Control control(*this, *job);
  json result;
  std::string status = "done";
  json error;
  try {
    control.check_cancelled();
    result = runner_(job->kind, job->request, control);
  } catch (const JobCancelled&) {
    status = "cancelled";
  } catch (...) {
    status = job->cancel ? "cancelled" : "failed";
    if (status == "failed") error = describe_error_(std::current_exception());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  job->result = std::move(result);
  job->error = std::move(error);
  --running_;
  finish(*job, status);
}

void JobQueue::finish(Job& job, const std::string& status) {
  job.status = status;
  job.finished = Clock::now();
  ++job.version;
  changed_.notify_all();
}

std::shared_ptr<JobQueue::Job> JobQueue::find(const std::string& id) {
  const auto it = jobs_.find(id);
  if (it != jobs_.end()) return it->second;
  if (expired_.count(id)) {
    std::ostringstream message;
    message << "the job " << id << " ended more than " << limits_.keep_seconds
            << " s ago; its result is no longer kept";
    throw ExpiredJob(message.str());
  }
  throw UnknownJob("no job " + id);
}

void JobQueue::forget_expired() {
  const auto now = Clock::now();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const Job& job = *it->second;
    if (ended(job.status) &&
        std::chrono::duration<double>(now - job.finished).count() > limits_.keep_seconds) {
      if (expired_.size() >= kMaxRememberedExpired) expired_.clear();
      expired_.insert(it->first);
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

json JobQueue::to_json(const Job& job, bool with_result) const {
  const auto now = Clock::now();
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  json out = {{"id", job.id},
              {"kind", job.kind},
              {"status", job.status},
              {"step", job.step},
              {"total", job.total}};
  if (job.status == "queued") out["waited_seconds"] = seconds(now - job.created);
  if (job.status == "running") out["seconds"] = seconds(now - job.started);
  if (job.kind == "train") {
    out["loss"] = job.loss;
    if (!job.loss.empty()) out["last_loss"] = job.loss.back();
  }
  if (ended(job.status)) {
    out["expires_in"] = std::max(0.0, limits_.keep_seconds - seconds(now - job.finished));
    if (job.status == "done" && with_result) out["result"] = job.result;
    if (job.status == "failed") out["error"] = job.error;
  }
  return out;
}

}  // namespace fi::server
