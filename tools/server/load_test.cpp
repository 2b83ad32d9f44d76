#include "load_test.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base64.h"
#include "flowinone/io/png.h"

namespace fi::server {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kBodyLimitMb = 1;

// The server as a child process: started with its stderr on a pipe, read until it says where
// it listens.
class ServerProcess {
 public:
  ServerProcess(const LoadTestOptions& options, const std::string& key_file) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) throw std::runtime_error("[bench serve] pipe() failed");
    std::vector<std::string> args = {options.program,  "serve",
                                     "--port",         "0",
                                     "--model",        "m=" + options.model_dir,
                                     "--api-key-file", key_file,
                                     "--max-body-mb",  std::to_string(kBodyLimitMb)};
    if (options.merge_images) args.push_back("--merge-images");
    if (options.server_threads > 0) {
      args.insert(args.begin() + 1, {"--threads", std::to_string(options.server_threads)});
    }
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("[bench serve] fork() failed");
    if (pid_ == 0) {
      dup2(pipe_fds[1], STDERR_FILENO);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(options.program.c_str(), argv.data());
      _exit(127);
    }
    close(pipe_fds[1]);
    log_ = fdopen(pipe_fds[0], "r");
    // "serving 1 model(s) on http://127.0.0.1:PORT ..."
    char line[4096];
    while (std::fgets(line, sizeof line, log_) != nullptr) {
      output_ += line;
      const char* at = std::strstr(line, "http://127.0.0.1:");
      if (at != nullptr && std::strstr(line, "serving") != nullptr) {
        port_ = std::atoi(at + std::strlen("http://127.0.0.1:"));
        break;
      }
    }
    if (port_ <= 0) {
      stop();
      throw std::runtime_error("[bench serve] the server did not start:\n" + output_);
    }
    // Drain the rest of its log so that it never blocks on a full pipe.
    drain_ = std::thread([this] {
      char rest[4096];
      while (std::fgets(rest, sizeof rest, log_) != nullptr) {
      }
    });
  }
  ~ServerProcess() { stop(); }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  /// True while the process runs (it has not crashed or exited).
  bool alive() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
      return false;
    }
    return true;
  }
  /// SIGTERM and wait; the exit status, or -signal when a signal ended it.
  int stop() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGTERM);
      waitpid(pid_, &status_, 0);
      exited_ = true;
    }
    if (drain_.joinable()) drain_.join();
    if (log_ != nullptr) {
      std::fclose(log_);
      log_ = nullptr;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_);
  }
  /// Resident memory in MiB, from /proc.
  double resident_mib() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    while (status >> key) {
      if (key == "VmRSS:") {
        double kib = 0;
        status >> kib;
        return kib / 1024.0;
      }
      status.ignore(1 << 12, '\n');
    }
    return 0;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int status_ = 0;
  bool exited_ = false;
  FILE* log_ = nullptr;
  std::string output_;
  std::thread drain_;
};

struct Outcome {
  int status = 0;  // 0: no answer
  double seconds = 0;
  std::int64_t samples = 0;
};

// What the model takes, from GET /v1/models.
struct ModelShape {
  bool is_image = false;
  bool translates = false;
  std::int64_t num_classes = 0;
  std::vector<std::int64_t> data_shape;
};

std::string png_of(std::int64_t channels, std::int64_t height, std::int64_t width,
                   std::mt19937_64& random) {
  Image image;
  image.channels = static_cast<int>(channels);
  image.height = static_cast<int>(height);
  image.width = static_cast<int>(width);
  image.pixels.resize(static_cast<std::size_t>(channels * height * width));
  for (auto& pixel : image.pixels) pixel = static_cast<std::uint8_t>(random() & 0xff);
  return base64_encode(encode_png(image));
}

// A good request: generate (or translate a random picture) with its own seed.
std::pair<std::string, json> good_request(const ModelShape& model, int index, int steps,
                                          std::mt19937_64& random) {
  json body = {{"model", "m"}, {"seed", index}};
  if (steps > 0) body["steps"] = steps;
  if (model.translates) {
    body["image"] = png_of(model.data_shape[0], model.data_shape[1], model.data_shape[2], random);
    return {"/v1/translate", body};
  }
  body["n"] = model.is_image ? 1 : 256;
  if (model.num_classes > 0) body["class"] = index % model.num_classes;
  return {"/v1/generate", body};
}

Outcome send(httplib::Client& client, const std::string& path, const std::string& body,
             const std::string& key) {
  httplib::Headers headers;
  if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
  const auto start = Clock::now();
  const auto result = client.Post(path.c_str(), headers, body, "application/json");
  Outcome outcome;
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (result) outcome.status = result->status;
  return outcome;
}

// Request `index` of the mixed phase: good, or one of eight kinds of bad.
Outcome mixed_request(httplib::Client& client, const ModelShape& model, int index,
                      const LoadTestOptions& options, const std::string& key) {
  std::mt19937_64 random(options.seed * 1000003 + static_cast<std::uint64_t>(index));
  const bool bad = std::uniform_real_distribution<double>(0, 1)(random) < options.bad_share;
  auto [path, body] = good_request(model, index, options.steps, random);
  if (!bad) {
    Outcome outcome = send(client, path, body.dump(), key);
    outcome.samples = outcome.status == 200 ? body.value("n", 1) : 0;
    return outcome;
  }
  switch (index % 8) {
    case 0:
      return send(client, path, "{\"model\": \"m\", \"n\": ", key);
    case 1:
      body["padding"] = std::string((kBodyLimitMb << 20) + 1000, 'x');
      return send(client, path, body.dump(), key);
    case 2:
      if (model.is_image) {
        body = {{"model", "m"},
                {"images", {png_of(3, 8, 8, random)}},
                {"image", png_of(3, 8, 8, random)}};
        return send(client, model.translates ? "/v1/translate" : "/v1/likelihood", body.dump(),
                    key);
      }
      return send(client, "/v1/likelihood", json{{"model", "m"}, {"points", {{1.0}}}}.dump(), key);
    case 3:
      body["model"] = "no-such-model";
      return send(client, path, body.dump(), key);
    case 4:
      body["class"] = "no-such-class";
      return send(client, path, body.dump(), key);
    case 5:
      return send(client, path, body.dump(), "");
    case 6:
      body["n"] = 1000000000;
      return send(client, path, body.dump(), key);
    default:
      body["steps"] = 10000000;
      return send(client, path, body.dump(), key);
  }
}

double percentile(std::vector<double> values, double share) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(share * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

// Runs `count` requests from `clients` threads; returns their outcomes in order.
template <typename Request>
std::vector<Outcome> fire(int count, int clients, int port, Request request) {
  std::vector<Outcome> outcomes(static_cast<std::size_t>(count));
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(600, 0);
      client.set_write_timeout(60, 0);
      for (int i = next++; i < count; i = next++) outcomes[i] = request(client, i);
    });
  }
  for (auto& thread : threads) thread.join();
  return outcomes;
}

}  // namespace

json run_load_test(const LoadTestOptions& options) {
  // The key goes through a file, as a user's would (never argv).
  char key_path[] = "/tmp/flowinone-bench-key-XXXXXX";
  const int key_fd = mkstemp(key_path);
  if (key_fd < 0) throw std::runtime_error("[bench serve] cannot create a key file in /tmp");
  std::random_device device;
  const std::string key = "bench-" + std::to_string(device()) + std::to_string(device());
  if (write(key_fd, key.data(), key.size()) != static_cast<ssize_t>(key.size())) {
    close(key_fd);
    throw std::runtime_error("[bench serve] cannot write the key file");
  }
  close(key_fd);
  ServerProcess server(options, key_path);
  unlink(key_path);

  httplib::Client probe("127.0.0.1", server.port());
  probe.set_read_timeout(600, 0);
  const auto models = probe.Get("/v1/models", {{"Authorization", "Bearer " + key}});
  if (!models || models->status != 200) throw std::runtime_error("[bench serve] no /v1/models");
  const json info = json::parse(models->body)["models"][0];
  ModelShape model;
  model.is_image = info["is_image"];
  model.translates = info["translates"];
  model.num_classes = info["num_classes"];
  model.data_shape = info["data_shape"].get<std::vector<std::int64_t>>();

  // Warm-up: LibTorch's first passes allocate what later ones reuse.
  fire(4, 1, server.port(), [&](httplib::Client& client, int i) {
    std::mt19937_64 random(i);
    auto [path, body] = good_request(model, -1 - i, options.steps, random);
    return send(client, path, body.dump(), key);
  });
  const double memory_before = server.resident_mib();

  const auto start = Clock::now();
  const std::vector<Outcome> outcomes =
      fire(options.requests, options.clients, server.port(), [&](httplib::Client& client, int i) {
        return mixed_request(client, model, i, options, key);
      });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const bool alive_after_mix = server.alive();
  const double memory_after = alive_after_mix ? server.resident_mib() : 0;
  // The same mix again: what the first round grew (allocator arenas per server thread, LibTorch's
  // caches) should not grow twice if memory is bounded.
  double memory_after_second = 0;
  if (alive_after_mix) {
    fire(options.requests, options.clients, server.port(), [&](httplib::Client& client, int i) {
      return mixed_request(client, model, i, options, key);
    });
    if (server.alive()) memory_after_second = server.resident_mib();
  }

  std::map<std::string, int> by_status;
  std::vector<double> latencies, good_latencies;
  int no_answer = 0;
  for (const Outcome& outcome : outcomes) {
    if (outcome.status == 0) ++no_answer;
    ++by_status[std::to_string(outcome.status)];
    latencies.push_back(outcome.seconds);
    if (outcome.status == 200) good_latencies.push_back(outcome.seconds);
  }

  // The batching gain: the same good requests from one client, then from many.
  json batching;
  if (alive_after_mix) {
    auto rate = [&](int clients) {
      const auto begin = Clock::now();
      const auto done =
          fire(options.batch_requests, clients, server.port(), [&](httplib::Client& client, int i) {
            std::mt19937_64 random(i);
            auto [path, body] = good_request(model, i, options.steps, random);
            Outcome outcome = send(client, path, body.dump(), key);
            outcome.samples = outcome.status == 200 ? body.value("n", 1) : 0;
            return outcome;
          });
      std::int64_t samples = 0;
      for (const auto& outcome : done) samples += outcome.samples;
      return static_cast<double>(samples) /
             std::chrono::duration<double>(Clock::now() - begin).count();
    };
    const double one = rate(1);
    const double many = rate(options.clients);
    batching = {{"requests", options.batch_requests},
                {"samples_per_request", model.is_image ? 1 : 256},
                {"one_client_samples_per_second", one},
                {"clients", options.clients},
                {"many_clients_samples_per_second", many},
                {"gain", one > 0 ? many / one : 0.0}};
  }
  const auto metrics = probe.Get("/metrics", {{"Authorization", "Bearer " + key}});
  const bool alive_at_end = server.alive();
  const int exit_status = server.stop();
  json result = {{"model_dir", options.model_dir},
                 {"requests", options.requests},
                 {"clients", options.clients},
                 {"bad_share", options.bad_share},
                 {"steps", options.steps},
                 {"merge_images", options.merge_images},
                 {"seconds", seconds},
                 {"throughput_requests_per_second", options.requests / seconds},
                 {"latency_p50_ms", 1000 * percentile(latencies, 0.5)},
                 {"latency_p99_ms", 1000 * percentile(latencies, 0.99)},
                 {"good_latency_p50_ms", 1000 * percentile(good_latencies, 0.5)},
                 {"good_latency_p99_ms", 1000 * percentile(good_latencies, 0.99)},
                 {"status_counts", by_status},
                 {"no_answer", no_answer},
                 {"crashes", alive_at_end ? 0 : 1},
                 {"server_exit_status_after_sigterm", alive_at_end ? json(exit_status) : json()},
                 {"memory_before_mib", memory_before},
                 {"memory_after_mib", memory_after},
                 {"memory_after_second_round_mib", memory_after_second},
                 {"batching", batching}};
  if (metrics && metrics->status == 200) {
    // The server's own view of its batches: requests merged per solve.
    const std::string& text = metrics->body;
    auto read = [&](const std::string& name) {
      const auto at = text.find("\n" + name + " ");
      return at == std::string::npos ? 0.0 : std::atof(text.c_str() + at + name.size() + 2);
    };
    const double count = read("flowinone_batch_requests_count");
    result["server_solves"] = count;
    result["server_mean_requests_per_solve"] =
        count > 0 ? read("flowinone_batch_requests_sum") / count : 0.0;
  }
  return result;
}

}  // namespace fi::server
