// `flowinone bench serve`: a real `flowinone serve` in a child process, loaded from client
// threads with a mix of good and hostile requests, reported as JSON.
//
//   1. start the server on one model with an API key, a 1 MiB body limit, any free port
//   2. `requests` requests from `clients` threads, `bad_share` of them bad, in eight kinds:
//      malformed JSON, a body over the limit, a picture (or point) of the wrong shape, an
//      unknown model, an unknown class, no API key, an absurd n, absurd steps
//   3. the batching gain: `batch_requests` good generate requests from 1 client, then from
//      `clients`, in samples per second
//   4. SIGTERM, and the server's exit status
//
// Reported: throughput, p50/p99 latency, counts by status, requests with no answer, crashes (the
// server gone before SIGTERM), the server's resident memory before and after step 2, and after
// step 2 run a second time (bounded growth: the second round should add next to nothing).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace fi::server {

struct LoadTestOptions {
  std::string program;        // the flowinone executable to run as the server
  std::string model_dir;      // the model it serves
  int requests = 1000;        // step 2
  int clients = 16;           // concurrent client threads
  double bad_share = 0.3;     // share of bad requests in step 2
  int batch_requests = 64;    // step 3, per measurement
  int steps = 0;              // solver steps of the good requests (0: the model's default)
  int server_threads = 0;     // the server's --threads (0: its default)
  bool merge_images = false;  // the server's --merge-images
  std::uint64_t seed = 0;
};

/// Runs the test; throws std::runtime_error when the server cannot be started.
nlohmann::json run_load_test(const LoadTestOptions& options);

}  // namespace fi::server
