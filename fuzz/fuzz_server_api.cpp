// The server's endpoints (tools/server/server_api.h) on hostile JSON bodies, as the routes pass
// them on: the first byte picks generate, translate, likelihood, prompt, velocity or a job's
// check; the rest is the body. The model is a small 2D flow-matching model built once per process
// (untrained: the rules under test do not depend on its weights), with small limits so that an
// accepted request solves in milliseconds.
//
// The contract is the server's: a bad request is an ApiError of status 4xx (or the library's
// std::invalid_argument / FileError, which the routes answer with 400). A 5xx ("internal
// failure"), another exception, or an answer or error that cannot be written as JSON is a finding.
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "api_error.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/generative/model_registry.h"
#include "fuzz_common.h"
#include "server_api.h"

namespace {

using nlohmann::json;

fi::server::ServerApi& api() {
  static fi::server::ServerApi* const instance = [] {
    const char* tmp = std::getenv("TMPDIR");
    const std::string dir =
        std::string(tmp != nullptr ? tmp : "/tmp") + "/fuzz_server_" + std::to_string(::getpid());
    ::mkdir(dir.c_str(), 0700);
    fi::RunConfig config = fi::load_preset("checkerboard");
    config.width = 16;
    config.depth = 2;
    const fi::GenerativeModelPtr model = fi::build_generative_model(config);
    fi::save_model_dir(dir, model->module(), config, 0);
    fi::server::ServerLimits limits;
    limits.max_images = 2;
    limits.max_points = 64;
    limits.max_steps = 8;
    limits.max_trajectory_states = 4;
    limits.max_intermediates = 3;
    limits.max_picture_pixels = 64 * 64;
    auto* server = new fi::server::ServerApi({{"points", dir}}, c10::Device(c10::kCPU), limits);
    server->load();
    return server;
  }();
  return *instance;
}

json call(int endpoint, const json& request) {
  fi::server::ServerApi& server = api();
  switch (endpoint) {
    case 0:
      return server.generate(request);
    case 1:
      return server.translate(request);
    case 2:
      return server.likelihood(request);
    case 3:
      return server.prompt(request);
    case 4:
      return server.velocity(request);
    default: {
      // A job is checked before it is queued; training itself is too slow to fuzz.
      const std::string kind =
          request.is_object() && request.contains("kind") && request["kind"].is_string()
              ? request["kind"].get<std::string>()
              : "train";
      server.check_job(
          kind, request.is_object() && request.contains("request") ? request["request"] : request);
      return json::object();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int endpoint = data[0] % 6;
  // The routes answer a body that is not JSON with 400 before an endpoint sees it.
  const json request = json::parse(data + 1, data + size, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return 0;
  try {
    (void)call(endpoint, request).dump();
  } catch (...) {
    const fi::server::ApiError error = fi::server::to_api_error(std::current_exception());
    if (error.status() >= 500) {
      std::fprintf(stderr, "fuzz: endpoint %d answered %d: %s\n", endpoint, error.status(),
                   error.what());
      std::abort();
    }
    (void)error.to_json().dump();  // as the routes send it; throws on bytes JSON cannot hold
  }
  return 0;
}
