// `flowinone serve`'s API over a real socket: a server on an ephemeral port of 127.0.0.1 with
// small models trained here, every endpoint's happy path against the library's own result for
// the same seed, and the error paths with their status codes, with and without an API key.
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "base64.h"
#include "cli_run.h"
#include "flowinone/core/random.h"
#include "flowinone/data/image_transforms.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/io/png.h"
#include "flowinone/train/trainer.h"
#include "http_server.h"
#include "job_queue.h"
#include "solve_batcher.h"
#include "temp_dir.h"

using nlohmann::json;

namespace {

fi::RunConfig tiny_2d() {
  fi::RunConfig config = fi::load_preset("checkerboard");
  config.steps = 20;
  config.width = 16;
  config.depth = 2;
  config.shards = 1;
  config.batch_size = 64;
  config.checkpoint_every = 1000;
  config.seed = 2;
  config.device = "cpu";
  return config;
}

fi::RunConfig tiny_flow() {
  fi::RunConfig config = tiny_2d();
  config.model = "realnvp";
  config.flow_layers = 2;
  return config;
}

// A VisPrompt-shaped model (1x32x32 pictures in, pictures out) of a few steps.
fi::RunConfig tiny_translator() {
  fi::RunConfig config = fi::load_preset("visprompt");
  config.steps = 2;
  config.batch_size = 4;
  config.base_channels = 8;
  config.num_workers = 0;
  config.data_dir = "synthetic";
  config.checkpoint_every = 1000;
  config.device = "cpu";
  return config;
}

// Trains the three models once, for every test of this file.
const std::map<std::string, std::string>& model_dirs() {
  static const fi::testing::TempDir scratch("server_models");
  static const std::map<std::string, std::string> dirs = [] {
    std::map<std::string, std::string> made;
    for (const auto& [name, config] : std::map<std::string, fi::RunConfig>{
             {"cb", tiny_2d()}, {"flow", tiny_flow()}, {"vp", tiny_translator()}}) {
      fi::TrainOptions options;
      options.out_dir = scratch.file(name);
      fi::train_model(config, options);
      made[name] = options.out_dir;
    }
    return made;
  }();
  return dirs;
}

// A server on an ephemeral port, serving until the fixture ends.
class Serving {
 public:
  explicit Serving(const std::string& api_key = "", fi::server::ServerLimits limits = {},
                   fi::server::JobLimits job_limits = {})
      : api_(model_dirs(), c10::Device(c10::kCPU), limits),
        jobs_(
            job_limits,
            [this](const std::string& kind, const json& request, fi::server::JobControl& control) {
              return api_.run_job(kind, request, control);
            },
            [](std::exception_ptr error) {
              return fi::server::to_api_error(error).to_json()["error"];
            }) {
    fi::server::HttpOptions options;
    options.port = 0;
    options.api_key = api_key;
    http_ = std::make_unique<fi::server::HttpServer>(api_, jobs_, options);
    port_ = http_->bind();
    thread_ = std::thread([this] { http_->serve(); });
    api_.load();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(120, 0);
  }
  ~Serving() {
    jobs_.shutdown(0);
    http_->stop();
    thread_.join();
  }
  httplib::Client& client() { return *client_; }
  httplib::Result post(const std::string& path, const json& body, const std::string& key = "") {
    httplib::Headers headers;
    if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
    return client_->Post(path.c_str(), headers, body.dump(), "application/json");
  }
  // Polls a job until it has ended (or a minute has passed).
  json wait_job(const std::string& id) {
    json job;
    for (int i = 0; i < 1200; ++i) {
      job = json::parse(client_->Get(("/v1/jobs/" + id).c_str())->body);
      const std::string status = job.value("status", "");
      if (status == "done" || status == "failed" || status == "cancelled") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return job;
  }
  fi::server::ServerApi& api() { return api_; }
  fi::server::JobQueue& jobs() { return jobs_; }

 private:
  fi::server::ServerApi api_;
  fi::server::JobQueue jobs_;
  std::unique_ptr<fi::server::HttpServer> http_;
  int port_ = 0;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

json body_of(const httplib::Result& result) { return json::parse(result->body); }

void expect_error(const httplib::Result& result, int status, const std::string& field = "") {
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, status) << result->body;
  const json body = json::parse(result->body, nullptr, false);
  ASSERT_TRUE(body.contains("error")) << result->body;
  EXPECT_TRUE(body["error"].contains("message"));
  if (!field.empty()) EXPECT_EQ(body["error"].value("field", ""), field) << result->body;
}

std::string picture_base64(const torch::Tensor& chw) {
  return fi::server::base64_encode(fi::encode_png(fi::tensor_to_image(chw)));
}

}  // namespace

TEST(Base64, RoundTripsAndRefusesGarbage) {
  for (const std::string bytes : {std::string(), std::string("a"), std::string("ab"),
                                  std::string("abc"), std::string("\0\xff\x10\x80", 4)}) {
    EXPECT_EQ(fi::server::base64_decode(fi::server::base64_encode(bytes), "x"), bytes);
  }
  EXPECT_EQ(fi::server::base64_encode("flow"), "Zmxvdw==");
  EXPECT_THROW(fi::server::base64_decode("Zm9", "x"), std::invalid_argument);
  EXPECT_THROW(fi::server::base64_decode("Zm9*", "x"), std::invalid_argument);
  EXPECT_THROW(fi::server::base64_decode("Z===", "x"), std::invalid_argument);
  EXPECT_THROW(fi::server::base64_decode("Zg==Zg==", "x"), std::invalid_argument);
  EXPECT_EQ(fi::server::decode_picture_text("data:image/png;base64,Zmxvdw==", "x"), "flow");
  EXPECT_THROW(fi::server::decode_picture_text("data:,", "x"), std::invalid_argument);
}

TEST(Server, HealthModelsAndGenerateMatchTheLibrary) {
  Serving serving;
  auto health = serving.client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(body_of(health)["models"], 3);
  const json models = body_of(serving.client().Get("/v1/models"));
  ASSERT_EQ(models["models"].size(), 3u);
  EXPECT_EQ(models["models"][0]["name"], "cb");
  EXPECT_EQ(models["models"][0]["family"], "flow-matching");
  EXPECT_EQ(models["models"][1]["family"], "normalizing-flow");
  EXPECT_EQ(models["models"][2]["translates"], true);
  EXPECT_TRUE(models["limits"].contains("max_body_bytes"));

  const auto result = serving.post(
      "/v1/generate", {{"model", "cb"}, {"n", 40}, {"seed", 7}, {"steps", 8}, {"trajectory", 3}});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const json generated = body_of(result);
  EXPECT_EQ(generated["nfe"], 8);
  ASSERT_EQ(generated["points"].size(), 40u);
  ASSERT_EQ(generated["trajectory"]["times"].size(), 3u);
  EXPECT_DOUBLE_EQ(generated["trajectory"]["times"][2].get<double>(), 1.0);
  // The same request through the library: the same points.
  const fi::LoadedModel loaded = fi::load_model_dir(model_dirs().at("cb"), torch::kCPU);
  fi::GenerationOptions options;
  options.solve.num_steps = 8;
  options.seed = 7;
  const torch::Tensor expected = loaded.model->sample(40, {}, options).x.to(torch::kFloat64);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(generated["points"][i][0].get<double>(), expected[i][0].item<double>());
    EXPECT_EQ(generated["points"][i][1].get<double>(), expected[i][1].item<double>());
  }
  // A flow samples at its temperature, and refuses guidance.
  const auto flow =
      serving.post("/v1/generate", {{"model", "flow"}, {"n", 5}, {"temperature", 0.5}});
  ASSERT_EQ(flow->status, 200) << flow->body;
  EXPECT_EQ(body_of(flow)["points"].size(), 5u);
  expect_error(serving.post("/v1/generate", {{"model", "flow"}, {"guidance", 2.0}}), 400,
               "guidance");
}

TEST(Server, TranslateLikelihoodAndPrompt) {
  Serving serving;
  const auto prompt = serving.post("/v1/prompt", {{"task", "force"}, {"seed", 3}});
  ASSERT_EQ(prompt->status, 200) << prompt->body;
  const std::string input_png = body_of(prompt)["image"];
  const auto translated =
      serving.post("/v1/translate", {{"model", "vp"},
                                     {"image", "data:image/png;base64," + input_png},
                                     {"steps", 3},
                                     {"seed", 4}});
  ASSERT_EQ(translated->status, 200) << translated->body;
  const fi::Image output =
      fi::decode_png(fi::server::base64_decode(body_of(translated)["image"], "image"), "output");
  // The library's translation of the same picture with the same seed, pixel for pixel.
  const fi::LoadedModel loaded = fi::load_model_dir(model_dirs().at("vp"), torch::kCPU);
  const torch::Tensor input =
      fi::image_to_tensor(fi::decode_png(fi::server::base64_decode(input_png, "input"), "input"));
  fi::GenerationOptions options;
  options.solve.num_steps = 3;
  options.guidance = loaded.model->describe().default_guidance;
  options.seed = 4;
  const fi::Image expected =
      fi::tensor_to_image(loaded.model->translate(input.unsqueeze(0), options).x[0]);
  EXPECT_EQ(output.pixels, expected.pixels);

  const auto scored = serving.post(
      "/v1/likelihood", {{"model", "cb"}, {"points", {{0.5, 0.5}, {-1.5, 0.5}, {3.0, 3.0}}}});
  ASSERT_EQ(scored->status, 200) << scored->body;
  const json likelihood = body_of(scored);
  ASSERT_EQ(likelihood["log_likelihood"].size(), 3u);
  EXPECT_TRUE(likelihood["bits_per_dim"].is_number());
  EXPECT_TRUE(likelihood["nll_stderr"].is_number());
  // One point of a flow: no spread, so no standard error.
  const auto single = serving.post("/v1/likelihood", {{"model", "flow"}, {"points", {{0.5, 0.5}}}});
  ASSERT_EQ(single->status, 200) << single->body;
  EXPECT_TRUE(body_of(single)["nll_stderr"].is_null());
  EXPECT_EQ(body_of(single)["estimator"], "change-of-variables");
}

TEST(Server, BadRequestsGetTheirStatusAndTheServerKeepsServing) {
  fi::server::ServerLimits limits;
  limits.max_body_bytes = 4096;
  Serving serving("", limits);
  auto raw = serving.client().Post("/v1/generate", "{not json", "application/json");
  expect_error(raw, 400);
  expect_error(serving.post("/v1/generate", json::array()), 400);
  expect_error(serving.post("/v1/generate", {{"model", "nope"}}), 404, "model");
  expect_error(serving.post("/v1/generate", {{"model", "cb"}, {"n", 100000000}}), 400, "n");
  expect_error(serving.post("/v1/generate", {{"model", "cb"}, {"n", "ten"}}), 400, "n");
  expect_error(serving.post("/v1/generate", {{"model", "cb"}, {"steps", 1000000}}), 400, "steps");
  expect_error(serving.post("/v1/generate", {{"model", "cb"}, {"solver", "heun"}}), 400, "solver");
  expect_error(serving.post("/v1/generate", {{"model", "cb"}, {"class", 1}}), 400, "class");
  expect_error(serving.post("/v1/generate", {{"model", "vp"}}), 400, "model");
  expect_error(serving.post("/v1/translate", {{"model", "vp"}, {"image", "!!!!"}}), 400, "image");
  expect_error(serving.post("/v1/translate", {{"model", "vp"}, {"image", "Zmxvdw=="}}), 400,
               "image");
  // A picture of the wrong size names both shapes.
  const std::string wrong = picture_base64(torch::zeros({1, 8, 8}));
  const auto sized = serving.post("/v1/translate", {{"model", "vp"}, {"image", wrong}});
  expect_error(sized, 400, "image");
  EXPECT_NE(sized->body.find("8x8"), std::string::npos);
  EXPECT_NE(sized->body.find("32x32"), std::string::npos);
  expect_error(serving.post("/v1/likelihood", {{"model", "cb"}, {"points", {{1.0}}}}), 400,
               "points");
  expect_error(serving.post("/v1/prompt", {{"task", "paint"}}), 400, "task");
  expect_error(serving.post("/v1/generate", {{"model", "cb"}, {"pad", std::string(8000, 'x')}}),
               413);
  expect_error(serving.client().Get("/v1/nothing"), 404);
  // Still serving.
  const auto after = serving.post("/v1/generate", {{"model", "cb"}, {"n", 2}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
}

// Found by fuzz_server_api: a Dopri5 solve that spends its evaluation budget was a 500 "internal
// failure"; it is the request's settings that cannot finish, a 422 the client can act on.
TEST(Server, ASolverThatGivesUpIsA422NamingTheSolver) {
  fi::server::ServerLimits limits;
  limits.max_steps = 2;  // Dopri5 may spend 20x that: 40 evaluations
  Serving serving("", limits);
  const json tight = {
      {"model", "cb"}, {"n", 4}, {"solver", "dopri5"}, {"rtol", 1e-10}, {"atol", 1e-10}};
  const auto gave_up = serving.post("/v1/generate", tight);
  expect_error(gave_up, 422, "solver");
  EXPECT_NE(gave_up->body.find("solver_gave_up"), std::string::npos) << gave_up->body;
  EXPECT_NE(gave_up->body.find("fixed-step solver"), std::string::npos) << gave_up->body;
  const auto fixed =
      serving.post("/v1/generate", {{"model", "cb"}, {"n", 4}, {"solver", "euler"}, {"steps", 2}});
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->status, 200) << fixed->body;
}

TEST(Server, ApiKeyGuardsEverythingButHealth) {
  Serving serving("s3cret-key");
  EXPECT_EQ(serving.client().Get("/health")->status, 200);
  expect_error(serving.client().Get("/v1/models"), 401);
  expect_error(serving.post("/v1/generate", {{"model", "cb"}}), 401);
  expect_error(serving.post("/v1/generate", {{"model", "cb"}}, "wrong-key!"), 401);
  EXPECT_EQ(serving.post("/v1/generate", {{"model", "cb"}}, "s3cret-key")->status, 200);
  httplib::Headers headers = {{"X-API-Key", "s3cret-key"}};
  EXPECT_EQ(serving.client().Get("/v1/models", headers)->status, 200);
  EXPECT_TRUE(fi::server::same_secret("abc", "abc"));
  EXPECT_FALSE(fi::server::same_secret("abd", "abc"));
  EXPECT_FALSE(fi::server::same_secret("ab", "abc"));
  EXPECT_FALSE(fi::server::same_secret("", ""));
}

TEST(ServeCli, SigtermStopsItWithStatusZeroAndBadFlagsExitTwo) {
  // SIGTERM after eight seconds; --preserve-status passes on the program's own status.
  const fi::testing::CliRun run = fi::testing::run_cli_prefixed(
      "timeout --preserve-status -s TERM 8 ", "serve --port 0 --model cb=" + model_dirs().at("cb"));
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("serving 1 model(s) on http://127.0.0.1:"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("stopping"), std::string::npos) << run.output;
  const std::string cb = model_dirs().at("cb");
  for (const std::string& flags : std::vector<std::string>{
           "--model cb=/nonexistent/model", "--model cb=" + cb + " --api-key-file /nonexistent/key",
           "--model =x", "--model cb=" + cb + " --model cb=" + cb}) {
    const fi::testing::CliRun bad = fi::testing::run_cli("serve --port 0 " + flags);
    EXPECT_EQ(bad.status, 2) << flags << "\n" << bad.output;
    EXPECT_EQ(bad.output.rfind("error: ", 0), 0u) << bad.output;
  }
}

TEST(Server, JobsRunReportAndStreamTheirProgress) {
  Serving serving;
  const json request = {
      {"kind", "generate"}, {"model", "cb"}, {"n", 30}, {"seed", 5}, {"steps", 6}};
  const auto submitted = serving.post("/v1/jobs", request);
  ASSERT_EQ(submitted->status, 202) << submitted->body;
  const std::string id = body_of(submitted)["id"];
  const json job = serving.wait_job(id);
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["step"], 6);
  EXPECT_EQ(job["total"], 6);
  // The job's result is the plain endpoint's, point for point.
  json plain_request = request;
  plain_request.erase("kind");
  const json plain = body_of(serving.post("/v1/generate", plain_request));
  EXPECT_EQ(job["result"]["points"], plain["points"]);
  // The event stream of an ended job: its final event, then the stream ends.
  const auto events = serving.client().Get(("/v1/jobs/" + id + "/events").c_str());
  ASSERT_TRUE(events);
  EXPECT_EQ(events->status, 200);
  EXPECT_NE(events->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  EXPECT_NE(events->body.find("event: done\ndata: {"), std::string::npos) << events->body;
  // Listing, unknown ids, cancelling an ended job, bad kinds and requests refused at submission.
  EXPECT_EQ(body_of(serving.client().Get("/v1/jobs"))["jobs"].size(), 1u);
  expect_error(serving.client().Get("/v1/jobs/job-nope"), 404, "id");
  expect_error(serving.client().Get("/v1/jobs/job-nope/events"), 404, "id");
  expect_error(serving.client().Delete(("/v1/jobs/" + id).c_str()), 409, "id");
  expect_error(serving.post("/v1/jobs", {{"kind", "paint"}}), 400, "kind");
  expect_error(serving.post("/v1/jobs", {{"model", "cb"}}), 400, "kind");
  expect_error(serving.post("/v1/jobs", {{"kind", "generate"}, {"model", "nope"}}), 404, "model");
  expect_error(serving.post("/v1/jobs", {{"kind", "train"}, {"width", 100000}}), 400, "width");
  // A job that fails keeps its error.
  const auto failing = serving.post("/v1/jobs", {{"kind", "generate"}, {"model", "cb"}, {"n", -1}});
  ASSERT_EQ(failing->status, 202);
  const json failed = serving.wait_job(body_of(failing)["id"]);
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["error"]["field"], "n");
}

TEST(Server, TrainingJobServesItsModelAndStreamsTheLoss) {
  Serving serving;
  const auto submitted = serving.post("/v1/jobs", {{"kind", "train"},
                                                   {"target", "moons"},
                                                   {"width", 16},
                                                   {"depth", 2},
                                                   {"steps", 40},
                                                   {"batch_size", 64},
                                                   {"seed", 3},
                                                   {"name", "mine"}});
  ASSERT_EQ(submitted->status, 202) << submitted->body;
  const json job = serving.wait_job(body_of(submitted)["id"]);
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["result"]["model"], "mine");
  ASSERT_EQ(job["loss"].size(), 4u);  // every 10 steps
  EXPECT_EQ(job["loss"][3][0], 40);
  EXPECT_TRUE(std::isfinite(job["loss"][3][1].get<double>()));
  // The model is served: listed, sampled with a trajectory, and its velocity field read.
  bool listed = false;
  const json models = body_of(serving.client().Get("/v1/models"));
  for (const auto& model : models["models"])
    listed = listed || (model["name"] == "mine" && model["trained_here"] == true);
  EXPECT_TRUE(listed) << models.dump();
  const auto sampled =
      serving.post("/v1/generate", {{"model", "mine"}, {"n", 20}, {"steps", 4}, {"trajectory", 5}});
  ASSERT_EQ(sampled->status, 200) << sampled->body;
  EXPECT_EQ(body_of(sampled)["trajectory"]["states"].size(), 5u);
  const auto field =
      serving.post("/v1/velocity", {{"model", "mine"}, {"t", 0.5}, {"points", {{0.0, 1.0}}}});
  ASSERT_EQ(field->status, 200) << field->body;
  EXPECT_EQ(body_of(field)["velocities"].size(), 1u);
  // A base model's name cannot be taken.
  expect_error(serving.post("/v1/jobs", {{"kind", "train"}, {"name", "cb"}}), 400, "name");
}

TEST(Server, QueueFullCancelQueuedAndRunningJobs) {
  fi::server::JobLimits limits;
  limits.max_queued = 1;
  limits.workers = 1;
  Serving serving("", {}, limits);
  const json long_training = {{"kind", "train"}, {"width", 16}, {"steps", 5000}};
  const std::string running = body_of(serving.post("/v1/jobs", long_training))["id"];
  // Wait until the worker has taken it, so the next one stays queued.
  for (int i = 0;
       i < 400 &&
       body_of(serving.client().Get(("/v1/jobs/" + running).c_str()))["status"] != "running";
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto queued = serving.post("/v1/jobs", long_training);
  ASSERT_EQ(queued->status, 202) << queued->body;
  expect_error(serving.post("/v1/jobs", long_training), 429);
  // Cancel the queued job, then the running one, which stops at its next step.
  const auto cancelled_queued =
      serving.client().Delete(("/v1/jobs/" + body_of(queued)["id"].get<std::string>()).c_str());
  ASSERT_EQ(cancelled_queued->status, 200) << cancelled_queued->body;
  EXPECT_EQ(body_of(cancelled_queued)["status"], "cancelled");
  const auto cancelled_running = serving.client().Delete(("/v1/jobs/" + running).c_str());
  ASSERT_EQ(cancelled_running->status, 200) << cancelled_running->body;
  const json stopped = body_of(cancelled_running);
  EXPECT_EQ(stopped["status"], "cancelled") << stopped.dump();
  EXPECT_LT(stopped["step"].get<int>(), 5000);
  // The queue has room again.
  EXPECT_EQ(serving.post("/v1/jobs", {{"kind", "prompt"}, {"task", "force"}})->status, 202);
}

TEST(JobQueue, ExpiredResultsAnswerGoneAndShutdownCancels) {
  std::atomic<int> started{0};
  fi::server::JobLimits limits;
  limits.workers = 1;
  limits.keep_seconds = 0.3;
  fi::server::JobQueue queue(
      limits,
      [&](const std::string& kind, const json&, fi::server::JobControl& control) -> json {
        ++started;
        if (kind == "quick") return {{"ok", true}};
        while (true) {  // runs until cancelled
          control.check_cancelled();
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      },
      [](std::exception_ptr) {
        return json{{"code", "x"}};
      });
  const std::string quick = queue.submit("quick", json::object())["id"];
  for (int i = 0; i < 200 && queue.status(quick)["status"] != "done"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(queue.status(quick)["status"], "done");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_THROW(queue.status(quick), fi::server::JobQueue::ExpiredJob);
  EXPECT_THROW(queue.status("job-unknown"), fi::server::JobQueue::UnknownJob);
  // Shutdown: the queued job is cancelled at once, the running one after the grace period.
  const std::string forever = queue.submit("forever", json::object())["id"];
  while (started < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string waiting = queue.submit("forever", json::object())["id"];
  queue.shutdown(0.05);
  EXPECT_EQ(queue.status(waiting)["status"], "cancelled");
  EXPECT_EQ(queue.status(forever)["status"], "cancelled");
  EXPECT_EQ(started, 2);
  EXPECT_THROW(queue.submit("quick", json::object()), fi::server::JobQueue::ShuttingDown);
}

namespace {

// A job's control that holds its solve at the start until `release` turns true (10 s at most).
class HeldControl : public fi::server::JobControl {
 public:
  explicit HeldControl(std::function<bool()> release) : release_(std::move(release)) {}
  void progress(std::int64_t step, std::int64_t) override {
    if (step != 0) return;
    entered = true;
    for (int i = 0; i < 2000 && !release_(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void loss(std::int64_t, double) override {}
  bool cancel_requested() const override { return false; }
  std::atomic<bool> entered{false};

 private:
  std::function<bool()> release_;
};

}  // namespace

// Requests merged into one solve: 2D points get the same bytes as each alone; pictures, merged
// only when asked, the same numbers to float rounding, and by default each is solved alone.
TEST(SolveBatcher, MergedRequestsMatchEachAlone) {
  struct Case {
    std::string model;
    bool merge_images;
  };
  for (const Case& c : {Case{"cb", false}, Case{"vp", true}, Case{"vp", false}}) {
    SCOPED_TRACE(c.model + (c.merge_images ? " merged" : ""));
    const fi::LoadedModel loaded = fi::load_model_dir(model_dirs().at(c.model), torch::kCPU);
    const bool translate = loaded.model->describe().translates;
    fi::server::SolveBatcher batcher(loaded.model, 1000, nullptr, c.merge_images);
    auto make_item = [&](std::uint64_t seed, std::int64_t n) {
      fi::server::BatchItem item;
      item.translate = translate;
      item.n = n;
      item.options.solve.num_steps = 5;
      item.options.seed = seed;
      item.options.guidance = loaded.model->describe().default_guidance;
      if (translate) {
        at::Generator generator = fi::make_generator(seed + 100);
        item.inputs = torch::rand({n, 1, 32, 32}, generator) * 2 - 1;
      }
      return item;
    };
    // The first holds the model while three more queue up; they then share one solve.
    fi::server::BatchItem first = make_item(1, 2);
    HeldControl hold([&] { return batcher.pending() == 3; });
    first.control = &hold;
    std::vector<fi::server::BatchItem> items = {make_item(2, 3), make_item(3, 1), make_item(4, 50)};
    items[1].states = 3;
    std::thread leader([&] { batcher.run(first); });
    while (!hold.entered) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::vector<std::thread> followers;
    for (auto& item : items) followers.emplace_back([&batcher, &item] { batcher.run(item); });
    for (auto& follower : followers) follower.join();
    leader.join();
    const bool merged = !translate || c.merge_images;
    EXPECT_EQ(first.batch_requests, 1);
    for (auto& item : items) {
      EXPECT_EQ(item.batch_requests, merged ? 3 : 1);
      fi::server::BatchItem alone = make_item(item.options.seed, item.n);
      alone.states = item.states;
      batcher.run(alone);
      EXPECT_EQ(alone.batch_requests, 1);
      ASSERT_EQ(item.result.trajectory.size(), alone.result.trajectory.size());
      if (translate && c.merge_images) {
        EXPECT_TRUE(torch::allclose(item.result.x, alone.result.x, 0, 1e-4));
        continue;
      }
      EXPECT_TRUE(torch::equal(item.result.x, alone.result.x)) << "seed " << item.options.seed;
      for (std::size_t k = 0; k < item.result.trajectory.size(); ++k)
        EXPECT_TRUE(torch::equal(item.result.trajectory[k], alone.result.trajectory[k]));
    }
    // And alone is the library's own call.
    fi::GenerationOptions options = items[0].options;
    const torch::Tensor library = translate ? loaded.model->translate(items[0].inputs, options).x
                                            : loaded.model->sample(3, {}, options).x;
    if (!(translate && c.merge_images)) EXPECT_TRUE(torch::equal(items[0].result.x, library));
  }
}

TEST(Server, MetricsVelocityIntermediatesAndDrawnPrompts) {
  Serving serving;
  ASSERT_EQ(serving.post("/v1/generate", {{"model", "cb"}, {"n", 3}})->status, 200);
  expect_error(serving.post("/v1/generate", {{"model", "cb"}, {"n", 0}}), 400, "n");
  // The velocity field as the library computes it.
  const fi::LoadedModel loaded = fi::load_model_dir(model_dirs().at("cb"), torch::kCPU);
  const auto field =
      serving.post("/v1/velocity", {{"model", "cb"}, {"t", 0.25}, {"points", {{0.5, -1.0}}}});
  ASSERT_EQ(field->status, 200) << field->body;
  const torch::Tensor v =
      loaded.model->velocity_field()(torch::tensor({{0.5f, -1.0f}}), 0.25).to(torch::kFloat64);
  EXPECT_EQ(body_of(field)["velocities"][0][0].get<double>(), v[0][0].item<double>());
  expect_error(serving.post("/v1/velocity", {{"model", "cb"}, {"points", {{0.0, 0.0}}}}), 400, "t");
  expect_error(serving.post("/v1/velocity", {{"model", "flow"}, {"t", 0.5}, {"points", {{0, 0}}}}),
               400, "model");
  // A prompt drawn from boxes, arrows, strokes and dots, then translated with 4 pictures along
  // the way, the last of which is the output.
  const auto drawn = serving.post("/v1/prompt", {{"task", "force"},
                                                 {"boxes", {{2, 2, 12, 12}}},
                                                 {"arrows", {{16, 16, 28, 16}}},
                                                 {"strokes", {{{3, 25}, {8, 29}, {14, 24}}}},
                                                 {"dots", {{24, 6}}}});
  ASSERT_EQ(drawn->status, 200) << drawn->body;
  const fi::Image prompt =
      fi::decode_png(fi::server::base64_decode(body_of(drawn)["image"], "image"), "prompt");
  int lit = 0;
  for (auto value : prompt.pixels) lit += value > 128;
  EXPECT_GT(lit, 40);
  expect_error(serving.post("/v1/prompt", {{"task", "force"}, {"boxes", {{1, 2, 3}}}}), 400,
               "boxes");
  expect_error(serving.post("/v1/prompt", {{"task", "force"}, {"dots", {{1e9, 2}}}}), 400, "dots");
  const auto translated = serving.post(
      "/v1/translate",
      {{"model", "vp"}, {"image", body_of(drawn)["image"]}, {"steps", 6}, {"intermediates", 4}});
  ASSERT_EQ(translated->status, 200) << translated->body;
  const json answer = body_of(translated);
  ASSERT_EQ(answer["intermediates"].size(), 4u);
  EXPECT_EQ(answer["intermediate_times"][3], 1.0);
  auto pixels = [](const json& base64) {
    return fi::decode_png(fi::server::base64_decode(base64, "x"), "x").pixels;
  };
  EXPECT_EQ(pixels(answer["intermediates"][3]), pixels(answer["image"]));
  expect_error(serving.post("/v1/translate", {{"model", "vp"},
                                              {"image", body_of(drawn)["image"]},
                                              {"solver", "dopri5"},
                                              {"intermediates", 4}}),
               400, "intermediates");
  // The counters, as Prometheus reads them.
  const auto metrics = serving.client().Get("/metrics");
  ASSERT_EQ(metrics->status, 200);
  const std::string& text = metrics->body;
  EXPECT_NE(text.find("flowinone_requests_total{endpoint=\"POST /v1/generate\",status=\"200\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("flowinone_requests_total{endpoint=\"POST /v1/generate\",status=\"400\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("flowinone_points_total 3"), std::string::npos);
  EXPECT_NE(text.find("flowinone_images_total 1"), std::string::npos);
  EXPECT_NE(text.find("flowinone_batch_requests_count 2"), std::string::npos);
  EXPECT_NE(
      text.find("flowinone_request_seconds_bucket{endpoint=\"POST /v1/generate\",le=\"+Inf\"} 2"),
      std::string::npos);
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos);
}
