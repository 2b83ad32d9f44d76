// The server's counters for GET /metrics, in Prometheus' text format (version 0.0.4):
//
//   flowinone_requests_total{endpoint, status}       requests answered
//   flowinone_request_seconds{endpoint}              latency histogram
//   flowinone_batch_requests                         requests merged into one solve (histogram)
//   flowinone_images_total, flowinone_points_total   samples served
//   flowinone_function_evaluations_total             network evaluations of the solves
//   flowinone_jobs_queued, flowinone_jobs_running    gauges, read when scraped
//   process_resident_memory_bytes                    from /proc/self/statm
//
// Endpoint labels are the route patterns ("/v1/jobs/{id}"), never the raw path: a stranger's
// paths must not grow the label set without end.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace fi::server {

/// A cumulative histogram with fixed upper bounds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  /// Prometheus lines for `name` with extra `labels` ("" or `endpoint="/x"`).
  void write(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bound, then +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();

  void request(const std::string& endpoint, int status, double seconds);
  void batch(std::int64_t requests, std::int64_t nfe);
  void served(std::int64_t images, std::int64_t points);
  /// Gauges read at every scrape (queue depth, running jobs), set once by the server.
  void set_gauges(std::function<std::vector<std::pair<std::string, double>>()> gauges);

  /// The whole exposition, `# HELP` and `# TYPE` lines included.
  std::string prometheus_text() const;

  /// The route pattern of a request path, for the endpoint label.
  static std::string endpoint_label(const std::string& method, const std::string& path);

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  Histogram batch_requests_;
  std::uint64_t batches_ = 0;
  std::uint64_t images_ = 0;
  std::uint64_t points_ = 0;
  std::uint64_t function_evaluations_ = 0;
  std::function<std::vector<std::pair<std::string, double>>()> gauges_;
};

/// Resident memory of this process in bytes (0 where /proc is not there).
std::int64_t resident_memory_bytes();

}  // namespace fi::server
