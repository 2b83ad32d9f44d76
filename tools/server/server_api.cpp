#include "server_api.h"

#include <chrono>
#include <cmath>
#include <regex>

#include "base64.h"
#include "flowinone/core/errors.h"
#include "flowinone/data/image_transforms.h"
#include "flowinone/io/png.h"
#include "flowinone/prompts/item_source.h"
#include "flowinone/prompts/prompt_canvas.h"
#include "flowinone/prompts/prompt_task.h"
#include "flowinone/solvers/likelihood.h"
#include "flowinone/train/training_data.h"
#include "request_fields.h"
#include "solve_batcher.h"

namespace fi::server {

using nlohmann::json;

namespace {

const char* const kJobKinds[] = {"generate", "translate", "likelihood", "prompt", "train"};

// Width and height from a PNG's IHDR chunk, read before anything is decoded or allocated.
void check_png_header(const std::string& bytes, std::int64_t max_pixels, const std::string& what) {
  PngHeader header;
  try {
    header = decode_png_header(bytes, what);  // signature, IHDR and its CRC, nothing inflated
  } catch (const std::exception& error) {
    throw bad_field(what, std::string("not a PNG picture: ") + error.what());
  }
  const std::int64_t width = header.width, height = header.height;
  if (width * height > max_pixels) {
    throw ApiError(413, "picture_too_large", what,
                   what + ": " + std::to_string(width) + "x" + std::to_string(height) +
                       " exceeds the server's limit of " + std::to_string(max_pixels) + " pixels");
  }
}

// A picture field (base64 PNG or data URL) as a (C, H, W) tensor in [-1, 1] of the model's shape.
torch::Tensor picture_tensor(const json& value, const std::string& field, const ModelInfo& info,
                             const ServerLimits& limits) {
  if (!value.is_string()) throw bad_field(field, "must be a base64 PNG or a data URL");
  std::string bytes;
  try {
    bytes = decode_picture_text(value.get<std::string>(), field);
  } catch (const std::invalid_argument& error) {
    throw bad_field(field, error.what());
  }
  check_png_header(bytes, limits.max_picture_pixels, field);
  Image image;
  try {
    image = decode_png(bytes, field);
  } catch (const std::exception& error) {
    throw bad_field(field, error.what());
  }
  const auto& shape = info.data_shape;
  if (image.channels != shape[0] || image.height != shape[1] || image.width != shape[2]) {
    throw bad_field(field, "the picture is " + std::to_string(image.width) + "x" +
                               std::to_string(image.height) + " with " +
                               std::to_string(image.channels) + " channel(s); the model takes " +
                               std::to_string(shape[2]) + "x" + std::to_string(shape[1]) +
                               " with " + std::to_string(shape[0]) + " channel(s)");
  }
  return image_to_tensor(image);
}

// One class id from a name (case as listed) or a number.
std::int64_t class_id(const json& value, const ModelInfo& info) {
  if (value.is_number_integer()) {
    const std::int64_t id = value.get<std::int64_t>();
    if (id >= 0 && id < info.num_classes) return id;
  } else if (value.is_string()) {
    for (std::size_t i = 0; i < info.class_names.size(); ++i)
      if (info.class_names[i] == value.get<std::string>()) return static_cast<std::int64_t>(i);
  }
  std::string valid = "an id in [0, " + std::to_string(info.num_classes) + ")";
  if (!info.class_names.empty()) {
    valid += " or a name:";
    for (const auto& name : info.class_names) valid += " " + name;
  }
  throw bad_field("class", "unknown class " + value.dump() + " (valid: " + valid + ")");
}

// The labels of a request: one class for all n, or one per sample; undefined when not given.
torch::Tensor request_labels(const json& request, const ModelInfo& info, std::int64_t n) {
  if (!request.contains("class")) return {};
  if (info.num_classes == 0) throw bad_field("class", "the model takes no class");
  const json& value = request.at("class");
  if (!value.is_array()) return torch::full({n}, class_id(value, info), torch::kInt64);
  if (static_cast<std::int64_t>(value.size()) != n) {
    throw bad_field("class", "a list of classes needs one per sample (" + std::to_string(n) +
                                 "), got " + std::to_string(value.size()));
  }
  std::vector<std::int64_t> ids;
  for (const auto& item : value) ids.push_back(class_id(item, info));
  return torch::tensor(ids, torch::kInt64);
}

SolveOptions request_solve(const json& request, const ModelInfo& info, const ServerLimits& limits) {
  SolveOptions solve = info.default_solve;
  solve.solver = parsed_field(request, "solver", to_string(solve.solver), parse_solver);
  solve.num_steps =
      static_cast<int>(int_field(request, "steps", solve.num_steps, 1, limits.max_steps));
  solve.rtol = number_field(request, "rtol", 1e-5, 1e-10, 1.0);
  solve.atol = number_field(request, "atol", 1e-5, 1e-10, 1.0);
  solve.max_nfe = 20 * static_cast<std::int64_t>(limits.max_steps);  // dopri5 cannot run away
  return solve;
}

GenerationOptions request_generation(const json& request, const ModelInfo& info,
                                     const ServerLimits& limits) {
  for (const char* key : {"guidance", "temperature"}) {
    const bool applies = std::string(key) == "guidance" ? info.guidance : info.temperature;
    if (request.contains(key) && !applies)
      throw bad_field(key, "does not apply to the model " + info.name);
  }
  GenerationOptions options;
  options.solve = request_solve(request, info, limits);
  options.guidance = number_field(request, "guidance", info.default_guidance, 0.0, 100.0);
  options.temperature = number_field(request, "temperature", info.default_temperature, 1e-3, 10.0);
  options.seed = static_cast<std::uint64_t>(
      int_field(request, "seed", 0, 0, std::numeric_limits<std::int64_t>::max()));
  return options;
}

// "points": [[x, y], ...] as an (N, 2) float tensor.
torch::Tensor points_tensor(const json& request, const ServerLimits& limits) {
  const json& points =
      list_field(request, "points", "a non-empty list of [x, y] pairs", limits.max_points);
  std::vector<float> values;
  values.reserve(2 * points.size());
  for (const auto& point : points) {
    if (!point.is_array() || point.size() != 2 || !point[0].is_number() || !point[1].is_number())
      throw bad_field("points", "every point must be [x, y] with two numbers");
    for (const auto& coordinate : point) {
      const double value = coordinate.get<double>();
      if (!std::isfinite(value) || std::abs(value) > 1e30)
        throw bad_field("points", "coordinates must be finite numbers");
      values.push_back(static_cast<float>(value));
    }
  }
  return torch::tensor(values).view({-1, 2});
}

json points_json(const torch::Tensor& points) {
  const torch::Tensor cpu = points.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* data = cpu.data_ptr<double>();
  json rows = json::array();
  for (std::int64_t i = 0; i < cpu.size(0); ++i) rows.push_back({data[2 * i], data[2 * i + 1]});
  return rows;
}

std::string png_base64(const torch::Tensor& chw, const std::map<std::string, std::string>& text) {
  return base64_encode(encode_png(tensor_to_image(chw.cpu()), text));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// How many states to keep along a solve ("trajectory", "intermediates"): 0, or 2 to `most`,
// which needs a fixed-step solver.
int states_field(const json& request, const char* name, int most, const SolveOptions& solve) {
  const int states = static_cast<int>(int_field(request, name, 0, 0, most));
  if (states == 1) throw bad_field(name, "needs at least 2 states (t = 0 and t = 1)");
  if (states > 0 && solve.solver == SolverKind::kDopri5) {
    throw bad_field(name, "needs a fixed-step solver (euler, midpoint, rk4)");
  }
  return states;
}

// A list of at most `most` items of `width` numbers each, every one in [low, high].
std::vector<std::vector<double>> number_rows(const json& request, const char* name,
                                             std::size_t width, std::size_t most, double low,
                                             double high) {
  std::vector<std::vector<double>> rows;
  if (!request.contains(name)) return rows;
  const json& list = request.at(name);
  const std::string shape = "a list of [" + std::string(width == 2 ? "x, y" : "x0, y0, x1, y1") +
                            "] in pixels of the canvas";
  if (!list.is_array()) throw bad_field(name, "must be " + shape);
  if (list.size() > most) throw bad_field(name, "at most " + std::to_string(most) + " per request");
  for (const auto& row : list) {
    if (!row.is_array() || row.size() != width) throw bad_field(name, "must be " + shape);
    std::vector<double> values;
    for (const auto& value : row) {
      if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < low ||
          value.get<double>() > high) {
        throw bad_field(name, "coordinates must be numbers in [" + std::to_string(low) + ", " +
                                  std::to_string(high) + "]");
      }
      values.push_back(value.get<double>());
    }
    rows.push_back(values);
  }
  return rows;
}

json model_json(const std::string& name, const ModelInfo& info, const ServerLimits& limits) {
  json model = {{"name", name},
                {"model", info.name},
                {"family", to_string(info.family)},
                {"data_shape", info.data_shape},
                {"is_image", info.is_image},
                {"num_classes", info.num_classes},
                {"class_names", info.class_names},
                {"translates", info.translates},
                {"integrates", info.integrates},
                {"guidance", info.guidance},
                {"temperature", info.temperature},
                {"likelihood", info.likelihood}};
  if (info.translates) model["pairing_mode"] = info.pairing_mode;
  json defaults;
  if (info.integrates) {
    defaults["solver"] = to_string(info.default_solve.solver);
    defaults["steps"] = info.default_solve.num_steps;
  }
  if (info.guidance) defaults["guidance"] = info.default_guidance;
  if (info.temperature) defaults["temperature"] = info.default_temperature;
  model["defaults"] = defaults;
  model["max_n"] = info.is_image ? limits.max_images : limits.max_points;
  return model;
}

}  // namespace

struct ServerApi::Served {
  LoadedModel loaded;
  std::unique_ptr<SolveBatcher> batcher;  // generate and translate: batched solves
  std::mutex scoring;                     // likelihood and the reference: one at a time
  json reference;                         // GET /v1/models/{name}/reference, once computed
  bool trained = false;                   // a playground model trained by this server
};

ServerApi::ServerApi(std::map<std::string, std::string> model_dirs, c10::Device device,
                     ServerLimits limits)
    : model_dirs_(std::move(model_dirs)), device_(device), limits_(limits) {}

ServerApi::~ServerApi() = default;

void ServerApi::load() {
  for (const auto& [name, dir] : model_dirs_) {
    auto served = std::make_shared<Served>();
    served->loaded = load_model_dir(dir, device_);
    const bool images = served->loaded.model->describe().is_image;
    served->batcher = std::make_unique<SolveBatcher>(
        served->loaded.model, images ? limits_.max_batch : limits_.max_points, &metrics_,
        limits_.merge_images);
    std::unique_lock<std::shared_mutex> lock(models_mutex_);
    models_[name] = served;
  }
  ready_ = true;
}

json ServerApi::health() const {
  if (!ready_) throw ApiError(503, "loading", "", "the models are still loading");
  std::shared_lock<std::shared_mutex> lock(models_mutex_);
  return {{"status", "ok"}, {"models", models_.size()}};
}

json ServerApi::models() const {
  json list = json::array();
  {
    std::shared_lock<std::shared_mutex> lock(models_mutex_);
    for (const auto& [name, served] : models_) {
      json model = model_json(name, served->loaded.model->describe(), limits_);
      model["trained_here"] = served->trained;
      model["step"] = served->loaded.step;
      list.push_back(model);
    }
  }
  json limits = {{"max_body_bytes", limits_.max_body_bytes},
                 {"max_images", limits_.max_images},
                 {"max_points", limits_.max_points},
                 {"max_steps", limits_.max_steps},
                 {"max_picture_pixels", limits_.max_picture_pixels},
                 {"max_trajectory_states", limits_.max_trajectory_states},
                 {"max_intermediates", limits_.max_intermediates},
                 {"max_batch", limits_.max_batch},
                 {"merge_images", limits_.merge_images},
                 {"max_train_steps", limits_.playground.max_steps},
                 {"max_train_width", limits_.playground.max_width}};
  return {{"models", list}, {"limits", limits}};
}

std::shared_ptr<ServerApi::Served> ServerApi::find_name(const std::string& name) const {
  if (!ready_) throw ApiError(503, "loading", "", "the models are still loading");
  if (name.empty()) throw bad_field("model", "required: one of the names in GET /v1/models");
  std::shared_lock<std::shared_mutex> lock(models_mutex_);
  auto it = models_.find(name);
  if (it == models_.end()) {
    std::string valid;
    for (const auto& entry : models_) valid += (valid.empty() ? "" : ", ") + entry.first;
    throw ApiError(404, "unknown_model", "model",
                   "model: no model named '" + name.substr(0, 64) + "' (served: " + valid + ")");
  }
  return it->second;
}

std::shared_ptr<ServerApi::Served> ServerApi::find(const json& request) const {
  if (!ready_) throw ApiError(503, "loading", "", "the models are still loading");
  if (!request.is_object())
    throw ApiError(400, "invalid_json", "", "the body must be a JSON object");
  return find_name(string_field(request, "model", "", 256));
}

json ServerApi::generate(const json& request, JobControl* control) {
  const auto served = find(request);
  const ModelInfo info = served->loaded.model->describe();
  if (info.translates) {
    throw bad_field("model", "the model translates pictures: POST /v1/translate");
  }
  BatchItem item;
  item.n = int_field(request, "n", 1, 1, info.is_image ? limits_.max_images : limits_.max_points);
  item.labels = request_labels(request, info, item.n);
  item.options = request_generation(request, info, limits_);
  const int states =
      info.is_image
          ? 0
          : states_field(request, "trajectory", limits_.max_trajectory_states, item.options.solve);
  item.states = info.integrates ? states : 0;
  item.control = control;
  const auto start = std::chrono::steady_clock::now();
  served->batcher->run(item);
  const Generated& generated = item.result;
  const std::int64_t n = item.n;
  const GenerationOptions& options = item.options;
  const torch::Tensor& labels = item.labels;
  json response = {{"model", request.at("model")},
                   {"n", n},
                   {"nfe", generated.nfe},
                   {"seed", options.seed},
                   {"batch_requests", item.batch_requests}};
  if (info.is_image) {
    json images = json::array();
    const std::string parameters =
        "model=" + request.at("model").get<std::string>() +
        " seed=" + std::to_string(options.seed) +
        (info.integrates ? " solver=" + to_string(options.solve.solver) +
                               " steps=" + std::to_string(options.solve.num_steps) +
                               " guidance=" + std::to_string(options.guidance)
                         : " temperature=" + std::to_string(options.temperature));
    for (std::int64_t i = 0; i < n; ++i) {
      const std::string label =
          labels.defined() ? " class=" + std::to_string(labels[i].item<std::int64_t>()) : "";
      images.push_back(png_base64(
          generated.x[i], {{"flowinone", parameters + label + " index=" + std::to_string(i)}}));
    }
    response["images"] = images;
  } else {
    response["points"] = points_json(generated.x);
    if (item.states > 0) {
      json path = json::array();
      for (const auto& state : generated.trajectory) path.push_back(points_json(state));
      response["trajectory"] = {{"times", generated.times}, {"states", path}};
    }
  }
  response["seconds"] = seconds_since(start);
  return response;
}

json ServerApi::translate(const json& request, JobControl* control) {
  const auto served = find(request);
  const ModelInfo info = served->loaded.model->describe();
  if (!info.translates) {
    throw bad_field("model", "the model does not translate pictures: POST /v1/generate");
  }
  if (!request.contains("image")) throw bad_field("image", "required: a base64 PNG or data URL");
  BatchItem item;
  item.translate = true;
  item.n = 1;
  item.inputs = picture_tensor(request.at("image"), "image", info, limits_).unsqueeze(0);
  item.options = request_generation(request, info, limits_);
  item.states =
      states_field(request, "intermediates", limits_.max_intermediates, item.options.solve);
  item.control = control;
  const auto start = std::chrono::steady_clock::now();
  served->batcher->run(item);
  const GenerationOptions& options = item.options;
  const std::string parameters = "translate model=" + request.at("model").get<std::string>() +
                                 " seed=" + std::to_string(options.seed) +
                                 " solver=" + to_string(options.solve.solver) +
                                 " steps=" + std::to_string(options.solve.num_steps) +
                                 " guidance=" + std::to_string(options.guidance);
  json response = {{"model", request.at("model")},
                   {"image", png_base64(item.result.x[0], {{"flowinone", parameters}})},
                   {"nfe", item.result.nfe},
                   {"mode", info.pairing_mode},
                   {"batch_requests", item.batch_requests}};
  if (item.states > 0) {
    json pictures = json::array();
    for (std::size_t k = 0; k < item.result.trajectory.size(); ++k) {
      // The states between are not pictures yet: clamped to the pixel range to be shown.
      pictures.push_back(
          png_base64(item.result.trajectory[k][0].clamp(-1, 1),
                     {{"flowinone", parameters + " t=" + std::to_string(item.result.times[k])}}));
    }
    response["intermediates"] = pictures;
    response["intermediate_times"] = item.result.times;
  }
  response["seconds"] = seconds_since(start);
  return response;
}

json ServerApi::likelihood(const json& request, JobControl* control) {
  const auto served = find(request);
  GenerativeModel& model = *served->loaded.model;
  const ModelInfo info = model.describe();
  if (!info.likelihood) {
    throw bad_field("model",
                    "the model has no likelihood (its source density is not known in "
                    "closed form, or it translates pictures)");
  }
  torch::Tensor x;
  if (info.is_image) {
    const json& images =
        list_field(request, "images", "a non-empty list of base64 PNGs", limits_.max_images);
    std::vector<torch::Tensor> pictures;
    for (std::size_t i = 0; i < images.size(); ++i)
      pictures.push_back(
          picture_tensor(images[i], "images[" + std::to_string(i) + "]", info, limits_));
    x = torch::stack(pictures);
  } else {
    x = points_tensor(request, limits_);
  }
  const std::int64_t n = x.size(0);
  const torch::Tensor labels = request_labels(request, info, n);
  ScoringOptions scoring;
  scoring.likelihood.solve = request_solve(request, info, limits_);
  scoring.likelihood.estimator =
      parsed_field(request, "estimator", "exact", parse_divergence_estimator);
  scoring.likelihood.probe = parsed_field(request, "probe", "rademacher", parse_probe_kind);
  scoring.likelihood.num_probes = int_field(request, "probes", 1, 1, 64);
  const std::int64_t seed =
      int_field(request, "seed", 0, 0, std::numeric_limits<std::int64_t>::max() - 1);
  scoring.likelihood.seed = static_cast<std::uint64_t>(seed) + 1;
  scoring.seed = static_cast<std::uint64_t>(seed);
  const auto start = std::chrono::steady_clock::now();
  LogDensity density;
  {
    std::lock_guard<std::mutex> lock(served->scoring);
    if (control != nullptr) control->check_cancelled();
    density = model.log_prob(x, labels, scoring);
  }
  const LikelihoodResult summary =
      summarize_log_density(density.log_p, x[0].numel(), /*log_scale_per_dim=*/0.0);
  const torch::Tensor log_p = density.log_p.to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<double> per_item(log_p.data_ptr<double>(), log_p.data_ptr<double>() + n);
  json response = {{"model", request.at("model")},
                   {"log_likelihood", per_item},
                   {"nll_nats", summary.nll_nats},
                   {"bits_per_dim", summary.bits_per_dim},
                   {"count", n},
                   {"dim", summary.dim},
                   {"nfe", density.nfe},
                   {"estimator", info.integrates ? to_string(scoring.likelihood.estimator)
                                                 : "change-of-variables"},
                   {"seconds", seconds_since(start)}};
  // One item has no spread to estimate an error from.
  response["nll_stderr"] = n >= 2 ? json(summary.nll_stderr) : json(nullptr);
  response["bits_per_dim_stderr"] = n >= 2 ? json(summary.bits_per_dim_stderr) : json(nullptr);
  return response;
}

json ServerApi::velocity(const json& request) {
  const auto served = find(request);
  GenerativeModel& model = *served->loaded.model;
  const ModelInfo info = model.describe();
  if (!info.integrates || info.is_image) {
    throw bad_field("model", "the velocity field is served for 2D flow-matching models only");
  }
  if (!request.contains("t")) throw bad_field("t", "required: the time in [0, 1]");
  const double t = number_field(request, "t", 0.0, 0.0, 1.0);
  const torch::Tensor x = points_tensor(request, limits_);
  const torch::Tensor v = model.velocity_field()(x.to(model.device()), t);
  return {{"model", request.at("model")}, {"t", t}, {"velocities", points_json(v)}};
}

json ServerApi::reference(const std::string& name) {
  const auto served = find_name(name);
  GenerativeModel& model = *served->loaded.model;
  const ModelInfo info = model.describe();
  if (!info.is_image || !info.likelihood) {
    throw ApiError(400, "no_reference", "model",
                   "model: reference likelihoods are for image models with a likelihood");
  }
  std::lock_guard<std::mutex> lock(served->scoring);
  if (!served->reference.is_null()) return served->reference;
  std::shared_ptr<const ImageDataset> data;
  try {
    data = open_image_dataset(served->loaded.config, Split::kTest);
  } catch (const std::exception& error) {
    throw ApiError(404, "no_reference_data", "model",
                   "model: the model's held-out pictures are not on this machine (" +
                       std::string(error.what()) + ")");
  }
  // A flow scores in one pass; a velocity model integrates with a one-probe Hutchinson estimate.
  const std::int64_t count = std::min<std::int64_t>(data->size(), info.integrates ? 64 : 256);
  std::vector<std::int64_t> indices;
  for (std::int64_t i = 0; i < count; ++i) indices.push_back(i * data->size() / count);
  const ImageBatch batch = data->get_batch(indices);
  ScoringOptions scoring;
  scoring.likelihood.solve = info.default_solve;
  scoring.likelihood.estimator = DivergenceEstimator::kHutchinson;
  scoring.likelihood.seed = 1;
  const bool labelled = !info.integrates && info.num_classes > 0;
  const auto start = std::chrono::steady_clock::now();
  const LogDensity density =
      model.log_prob(batch.images, labelled ? batch.labels : torch::Tensor(), scoring);
  const double dim = static_cast<double>(batch.images[0].numel());
  const torch::Tensor bits = (-density.log_p / (dim * std::log(2.0))).to(torch::kFloat64).cpu();
  served->reference = {{"model", name},
                       {"bits_per_dim", std::vector<double>(bits.data_ptr<double>(),
                                                            bits.data_ptr<double>() + count)},
                       {"count", count},
                       {"source", "the test split of " + served->loaded.config.target},
                       {"estimator", info.integrates ? "hutchinson" : "change-of-variables"},
                       {"seconds", seconds_since(start)}};
  return served->reference;
}

void ServerApi::check_job(const std::string& kind, const json& request) {
  if (std::find(std::begin(kJobKinds), std::end(kJobKinds), kind) == std::end(kJobKinds)) {
    throw bad_field("kind", "unknown kind '" + kind.substr(0, 64) +
                                "' (valid: generate, translate, likelihood, prompt, train)");
  }
  if (!request.is_object())
    throw ApiError(400, "invalid_json", "", "the body must be a JSON object");
  if (kind == "train") {
    (void)playground_config(request, limits_.playground);
    const std::string name = string_field(request, "name", "", 64);
    if (!name.empty()) {
      if (!std::regex_match(name, std::regex("[A-Za-z0-9_.-]+")))
        throw bad_field("name", "letters, digits, '_', '.' and '-' only");
      std::shared_lock<std::shared_mutex> lock(models_mutex_);
      const auto it = models_.find(name);
      if (it != models_.end() && !it->second->trained)
        throw bad_field("name", "'" + name + "' is a model loaded at start: choose another name");
    }
  } else if (kind != "prompt") {
    (void)find(request);
  }
}

json ServerApi::run_job(const std::string& kind, const json& request, JobControl& control) {
  if (kind == "generate") return generate(request, &control);
  if (kind == "translate") return translate(request, &control);
  if (kind == "likelihood") return likelihood(request, &control);
  if (kind == "prompt") return prompt(request);
  if (kind == "train") return train(request, control);
  throw bad_field("kind", "unknown kind '" + kind.substr(0, 64) + "'");
}

json ServerApi::train(const json& request, JobControl& control) {
  check_job("train", request);
  const RunConfig config = playground_config(request, limits_.playground);
  std::string name = string_field(request, "name", "", 64);
  if (name.empty()) name = "playground-" + std::to_string(next_trained_++);
  const auto start = std::chrono::steady_clock::now();
  PlaygroundModel trained = train_playground(config, control);
  add_trained(name, LoadedModel{config, trained.model, config.steps});
  return {{"model", name},
          {"steps", config.steps},
          {"final_loss", trained.final_loss},
          {"seconds", seconds_since(start)},
          {"config", config_to_json(config)}};
}

void ServerApi::add_trained(const std::string& name, LoadedModel loaded) {
  auto served = std::make_shared<Served>();
  served->loaded = std::move(loaded);
  served->trained = true;
  served->batcher =
      std::make_unique<SolveBatcher>(served->loaded.model, limits_.max_points, &metrics_);
  std::unique_lock<std::shared_mutex> lock(models_mutex_);
  const auto it = models_.find(name);
  if (it != models_.end() && !it->second->trained) {
    throw bad_field("name", "'" + name + "' is a model loaded at start: choose another name");
  }
  trained_.erase(std::remove(trained_.begin(), trained_.end(), name), trained_.end());
  // Requests still using an evicted model hold it until they end.
  while (trained_.size() >= limits_.max_trained_models && !trained_.empty()) {
    models_.erase(trained_.front());
    trained_.pop_front();
  }
  models_[name] = served;
  trained_.push_back(name);
}

json ServerApi::prompt(const json& request) const {
  if (!request.is_object())
    throw ApiError(400, "invalid_json", "", "the body must be a JSON object");
  const PromptTask task = parsed_field(request, "task", "", parse_prompt_task);
  const std::string text = string_field(request, "text", "");
  if (text.size() > 200) throw bad_field("text", "at most 200 characters");
  PromptOptions options;
  options.size = static_cast<int>(int_field(request, "size", 32, 32, 256));
  if (options.size % 32 != 0) throw bad_field("size", "must be a multiple of 32");
  const std::int64_t seed =
      int_field(request, "seed", 0, 0, std::numeric_limits<std::int64_t>::max());
  // Drawn items, in pixels of the size x size canvas (a little outside is clipped).
  const double size = options.size;
  const auto boxes = number_rows(request, "boxes", 4, 64, -size, 2 * size);
  const auto arrows = number_rows(request, "arrows", 4, 64, -size, 2 * size);
  const auto dots = number_rows(request, "dots", 2, 64, -size, 2 * size);
  std::vector<std::vector<CanvasPoint>> strokes;
  if (request.contains("strokes")) {
    const json& list = request.at("strokes");
    if (!list.is_array() || list.size() > 64)
      throw bad_field("strokes", "must be a list of at most 64 strokes, each a list of [x, y]");
    for (const auto& stroke : list) {
      const auto points =
          number_rows(json{{"strokes", stroke}}, "strokes", 2, 2000, -size, 2 * size);
      if (points.empty()) throw bad_field("strokes", "a stroke needs at least one point");
      std::vector<CanvasPoint> line;
      for (const auto& point : points) line.push_back({point[0], point[1]});
      strokes.push_back(line);
    }
  }
  const bool drawn = !boxes.empty() || !arrows.empty() || !dots.empty() || !strokes.empty();
  torch::Tensor image;
  std::string written = text;
  try {
    if (drawn) {
      // Line widths and marks scale with the canvas, as the task generators draw them at 32.
      const double scale = size / 32.0;
      PromptCanvas canvas(options.size, options.size);
      if (!text.empty()) canvas.draw_text_block(text, canvas.ink());
      for (const auto& b : boxes) {
        canvas.outline_box({static_cast<int>(std::lround(std::min(b[0], b[2]))),
                            static_cast<int>(std::lround(std::min(b[1], b[3]))),
                            static_cast<int>(std::lround(std::max(b[0], b[2]))),
                            static_cast<int>(std::lround(std::max(b[1], b[3])))},
                           canvas.ink(), std::max(1, static_cast<int>(scale)));
      }
      for (const auto& a : arrows)
        canvas.draw_arrow({a[0], a[1]}, {a[2], a[3]}, canvas.ink(), 3.0 * scale, scale);
      for (const auto& stroke : strokes) canvas.draw_stroke(stroke, canvas.ink(), 1.5 * scale);
      for (const auto& d : dots) canvas.draw_dot({d[0], d[1]}, 1.5 * scale, canvas.ink());
      image = canvas.tensor();
    } else if (!text.empty()) {
      image = render_text_prompt(text, options);
    } else {
      // Drawn items: the server does not depend on a data set being installed.
      const SyntheticItems items;
      const PromptPair pair =
          make_prompt_pair(task, items, static_cast<std::uint64_t>(seed), options);
      image = pair.input;
      written = pair.info.text;
    }
  } catch (const std::invalid_argument& error) {
    throw bad_field(text.empty() ? "task" : "text", error.what());
  }
  return {{"task", to_string(task)},
          {"text", written},
          {"image", png_base64(image, {{"flowinone:task", to_string(task)},
                                       {"flowinone:seed", std::to_string(seed)},
                                       {"flowinone:text", written}})}};
}

}  // namespace fi::server
