#include "server_api.h"

#include <chrono>
#include <cmath>

#include "base64.h"
#include "flowinone/core/errors.h"
#include "flowinone/data/image_transforms.h"
#include "flowinone/io/png.h"
#include "flowinone/prompts/prompt_task.h"
#include "flowinone/solvers/likelihood.h"

namespace fi::server {

using nlohmann::json;

namespace {

ApiError bad_field(const std::string& field, const std::string& message) {
  return ApiError(400, "invalid_field", field, field + ": " + message);
}

std::int64_t int_field(const json& request, const char* name, std::int64_t fallback,
                       std::int64_t low, std::int64_t high) {
  if (!request.contains(name)) return fallback;
  const json& value = request.at(name);
  if (!value.is_number_integer()) throw bad_field(name, "must be an integer");
  const std::int64_t number = value.get<std::int64_t>();
  if (number < low || number > high) {
    throw bad_field(name, "must be in [" + std::to_string(low) + ", " + std::to_string(high) +
                              "], got " + std::to_string(number));
  }
  return number;
}

double number_field(const json& request, const char* name, double fallback, double low,
                    double high) {
  if (!request.contains(name)) return fallback;
  const json& value = request.at(name);
  if (!value.is_number()) throw bad_field(name, "must be a number");
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < low || number > high) {
    throw bad_field(name, "must be a finite number in [" + std::to_string(low) + ", " +
                              std::to_string(high) + "]");
  }
  return number;
}

std::string string_field(const json& request, const char* name, const std::string& fallback) {
  if (!request.contains(name)) return fallback;
  const json& value = request.at(name);
  if (!value.is_string()) throw bad_field(name, "must be a string");
  return value.get<std::string>();
}

// A required, non-empty list of at most `most` items (413 past it).
const json& list_field(const json& request, const char* name, const char* what, std::int64_t most) {
  if (!request.contains(name) || !request.at(name).is_array() || request.at(name).empty()) {
    throw bad_field(name, std::string("required: ") + what);
  }
  const json& list = request.at(name);
  if (static_cast<std::int64_t>(list.size()) > most) {
    throw ApiError(413, "too_many", name,
                   std::string(name) + ": at most " + std::to_string(most) + " per request");
  }
  return list;
}

// Parses with the library's closed-set parser, whose message lists the valid names.
template <typename Parse>
auto parsed_field(const json& request, const char* name, const std::string& fallback, Parse parse) {
  const std::string text = string_field(request, name, fallback);
  try {
    return parse(text);
  } catch (const std::invalid_argument& error) {
    throw bad_field(name, error.what());
  }
}

// Width and height from a PNG's IHDR chunk, read before anything is decoded or allocated.
void check_png_header(const std::string& bytes, std::int64_t max_pixels, const std::string& what) {
  static const std::string kSignature = "\x89PNG\r\n\x1a\n";
  if (bytes.size() < 24 || bytes.compare(0, 8, kSignature) != 0 ||
      bytes.compare(12, 4, "IHDR") != 0) {
    throw bad_field(what, "not a PNG picture");
  }
  auto be32 = [&](std::size_t at) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i)
      value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
    return static_cast<std::int64_t>(value);
  };
  const std::int64_t width = be32(16), height = be32(20);
  if (width < 1 || height < 1 || width * height > max_pixels) {
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

json ApiError::to_json() const {
  json error = {{"code", code_}, {"message", what()}};
  if (!field_.empty()) error["field"] = field_;
  return {{"error", error}};
}

ServerApi::ServerApi(std::map<std::string, std::string> model_dirs, c10::Device device,
                     ServerLimits limits)
    : model_dirs_(std::move(model_dirs)), device_(device), limits_(limits) {}

void ServerApi::load() {
  for (const auto& [name, dir] : model_dirs_) {
    models_[name] = Served{load_model_dir(dir, device_), std::make_unique<std::mutex>()};
  }
  ready_ = true;
}

json ServerApi::health() const {
  if (!ready_) throw ApiError(503, "loading", "", "the models are still loading");
  return {{"status", "ok"}, {"models", models_.size()}};
}

json ServerApi::models() const {
  json list = json::array();
  for (const auto& [name, served] : models_)
    list.push_back(model_json(name, served.loaded.model->describe(), limits_));
  json limits = {{"max_body_bytes", limits_.max_body_bytes},
                 {"max_images", limits_.max_images},
                 {"max_points", limits_.max_points},
                 {"max_steps", limits_.max_steps},
                 {"max_picture_pixels", limits_.max_picture_pixels}};
  return {{"models", list}, {"limits", limits}};
}

ServerApi::Served& ServerApi::find(const json& request) {
  if (!ready_) throw ApiError(503, "loading", "", "the models are still loading");
  if (!request.is_object())
    throw ApiError(400, "invalid_json", "", "the body must be a JSON object");
  const std::string name = string_field(request, "model", "");
  if (name.empty()) throw bad_field("model", "required: one of the names in GET /v1/models");
  auto it = models_.find(name);
  if (it == models_.end()) {
    std::string valid;
    for (const auto& entry : models_) valid += (valid.empty() ? "" : ", ") + entry.first;
    throw ApiError(404, "unknown_model", "model",
                   "model: no model named '" + name + "' (served: " + valid + ")");
  }
  return it->second;
}

json ServerApi::generate(const json& request) {
  Served& served = find(request);
  GenerativeModel& model = *served.loaded.model;
  const ModelInfo info = model.describe();
  if (info.translates) {
    throw bad_field("model", "the model translates pictures: POST /v1/translate");
  }
  const std::int64_t n =
      int_field(request, "n", 1, 1, info.is_image ? limits_.max_images : limits_.max_points);
  const torch::Tensor labels = request_labels(request, info, n);
  GenerationOptions options = request_generation(request, info, limits_);
  const std::int64_t states =
      info.is_image ? 0 : int_field(request, "trajectory", 0, 0, limits_.max_trajectory_states);
  if (states == 1) throw bad_field("trajectory", "needs at least 2 states (t = 0 and t = 1)");
  options.solve.record_trajectory = states > 0 && info.integrates;
  if (options.solve.record_trajectory && options.solve.solver == SolverKind::kDopri5) {
    throw bad_field("trajectory", "needs a fixed-step solver (euler, midpoint, rk4)");
  }
  const auto start = std::chrono::steady_clock::now();
  Generated generated;
  {
    std::lock_guard<std::mutex> lock(*served.lock);
    generated = model.sample(n, labels, options);
  }
  json response = {
      {"model", request.at("model")}, {"n", n}, {"nfe", generated.nfe}, {"seed", options.seed}};
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
    if (options.solve.record_trajectory) {
      json times = json::array(), path = json::array();
      const std::size_t recorded = generated.trajectory.size();
      for (std::int64_t k = 0; k < states; ++k) {
        const std::size_t index = static_cast<std::size_t>(
            std::llround(static_cast<double>(k) * (recorded - 1) / (states - 1)));
        times.push_back(generated.times[index]);
        path.push_back(points_json(generated.trajectory[index]));
      }
      response["trajectory"] = {{"times", times}, {"states", path}};
    }
  }
  response["seconds"] = seconds_since(start);
  return response;
}

json ServerApi::translate(const json& request) {
  Served& served = find(request);
  GenerativeModel& model = *served.loaded.model;
  const ModelInfo info = model.describe();
  if (!info.translates) {
    throw bad_field("model", "the model does not translate pictures: POST /v1/generate");
  }
  if (!request.contains("image")) throw bad_field("image", "required: a base64 PNG or data URL");
  const torch::Tensor input = picture_tensor(request.at("image"), "image", info, limits_);
  const GenerationOptions options = request_generation(request, info, limits_);
  const auto start = std::chrono::steady_clock::now();
  Generated generated;
  {
    std::lock_guard<std::mutex> lock(*served.lock);
    generated = model.translate(input.unsqueeze(0), options);
  }
  const std::string parameters = "translate model=" + request.at("model").get<std::string>() +
                                 " seed=" + std::to_string(options.seed) +
                                 " solver=" + to_string(options.solve.solver) +
                                 " steps=" + std::to_string(options.solve.num_steps) +
                                 " guidance=" + std::to_string(options.guidance);
  return {{"model", request.at("model")},
          {"image", png_base64(generated.x[0], {{"flowinone", parameters}})},
          {"nfe", generated.nfe},
          {"mode", info.pairing_mode},
          {"seconds", seconds_since(start)}};
}

json ServerApi::likelihood(const json& request) {
  Served& served = find(request);
  GenerativeModel& model = *served.loaded.model;
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
    const json& points =
        list_field(request, "points", "a non-empty list of [x, y] pairs", limits_.max_points);
    std::vector<float> values;
    for (const auto& point : points) {
      if (!point.is_array() || point.size() != 2 || !point[0].is_number() || !point[1].is_number())
        throw bad_field("points", "every point must be [x, y] with two numbers");
      for (const auto& coordinate : point) {
        const double value = coordinate.get<double>();
        if (!std::isfinite(value)) throw bad_field("points", "coordinates must be finite");
        values.push_back(static_cast<float>(value));
      }
    }
    x = torch::tensor(values).view({-1, 2});
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
    std::lock_guard<std::mutex> lock(*served.lock);
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
  torch::Tensor image;
  std::string written = text;
  try {
    if (!text.empty()) {
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
