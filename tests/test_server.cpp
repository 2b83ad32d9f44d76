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
  explicit Serving(const std::string& api_key = "", fi::server::ServerLimits limits = {})
      : api_(model_dirs(), c10::Device(c10::kCPU), limits) {
    fi::server::HttpOptions options;
    options.port = 0;
    options.api_key = api_key;
    http_ = std::make_unique<fi::server::HttpServer>(api_, options);
    port_ = http_->bind();
    thread_ = std::thread([this] { http_->serve(); });
    api_.load();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(120, 0);
  }
  ~Serving() {
    http_->stop();
    thread_.join();
  }
  httplib::Client& client() { return *client_; }
  httplib::Result post(const std::string& path, const json& body, const std::string& key = "") {
    httplib::Headers headers;
    if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
    return client_->Post(path.c_str(), headers, body.dump(), "application/json");
  }

 private:
  fi::server::ServerApi api_;
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
