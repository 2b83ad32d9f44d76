#include "flowinone/generative/run_config.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <variant>

#include "flowinone/core/errors.h"
#include "flowinone/core/printable.h"
#include "flowinone/couplings/coupling.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/generative/model_registry.h"
#include "flowinone/models/mlp.h"
#include "flowinone/paths/path.h"
#include "flowinone/solvers/ode.h"
#include "flowinone/solvers/solver_limits.h"

namespace fi {

const std::vector<std::pair<std::string, std::string>>& flowinone_presets();  // generated

namespace {

using Member =
    std::variant<std::string RunConfig::*, std::int64_t RunConfig::*, double RunConfig::*>;

struct KeyEntry {
  const char* name;
  Member member;
  std::string help;
};

// "flow-matching: mlp, unet; normalizing-flow: realnvp, ..." from the registry.
std::string model_key_help() {
  std::string help;
  for (ModelFamily family : {ModelFamily::kFlowMatching, ModelFamily::kNormalizingFlow}) {
    std::string names;
    for (const auto& entry : model_registry())
      if (entry.family == family) names += (names.empty() ? "" : ", ") + entry.name;
    help += (help.empty() ? "" : "; ") + to_string(family) + ": " + names;
  }
  return "the model (" + help + ")";
}

const std::vector<KeyEntry>& key_table() {
  static const std::vector<KeyEntry> kKeys = {
      {"source", &RunConfig::source,
       "distribution at t = 0: a 2D data set, gaussian, or input (image pairs: the input image)"},
      {"target", &RunConfig::target,
       "distribution at t = 1: a 2D data set, fashion-mnist, folder, pairs or visprompt"},
      {"data_dir", &RunConfig::data_dir,
       "image data: the folder (folder, pairs), the IDX files (fashion-mnist, visprompt), or "
       "synthetic (visprompt with drawn items); empty = Debian's Fashion-MNIST"},
      {"image_size", &RunConfig::image_size, "image data: side in pixels (0 = the data's own)"},
      {"channels", &RunConfig::channels, "image data: 1 (gray) or 3 (RGB) (0 = the data's own)"},
      {"num_classes", &RunConfig::num_classes,
       "classes of a class-conditional model (0 = unconditional)"},
      {"label_dropout", &RunConfig::label_dropout,
       "share of training labels replaced by the null class (for guidance)"},
      {"input_dropout", &RunConfig::input_dropout,
       "image pairs: share of training condition images blanked (for guidance)"},
      {"random_flip", &RunConfig::random_flip, "image data: 1 mirrors examples at random"},
      {"num_workers", &RunConfig::num_workers, "image data: background loader threads"},
      {"coupling", &RunConfig::coupling,
       "pairing of x0 and x1: independent, ot-exact, ot-sinkhorn"},
      {"reg", &RunConfig::reg, "Sinkhorn regularization, relative to the largest cost (> 0)"},
      {"path", &RunConfig::path, "probability path: straight, vp, bridge, target"},
      {"sigma", &RunConfig::sigma, "noise level of the path (>= 0)"},
      {"time_skew", &RunConfig::time_skew,
       "training times t = 1 - (1 - u)^time_skew; 1 = uniform, > 1 favours t near 1"},
      {"source_noise", &RunConfig::source_noise,
       "source = input: std of the Gaussian noise added to the input image at t = 0"},
      {"model", &RunConfig::model, model_key_help()},
      {"width", &RunConfig::width, "hidden units per MLP layer (flows: of coupling networks)"},
      {"depth", &RunConfig::depth, "hidden MLP layers"},
      {"time_dim", &RunConfig::time_dim, "size of the sinusoidal time embedding (even)"},
      {"activation", &RunConfig::activation, "silu, relu, gelu or tanh"},
      {"fourier_features", &RunConfig::fourier_features,
       "random Fourier features of x fed to the MLP (0 = none)"},
      {"fourier_scale", &RunConfig::fourier_scale, "std of the Fourier frequencies (cycles/unit)"},
      {"prediction", &RunConfig::prediction,
       "velocity networks: output the velocity, or x1 (the data; v = (x1 - x) / (1 - t))"},
      {"x1_floor", &RunConfig::x1_floor,
       "prediction = x1: floor of 1 - t in that division, in (0, 1]"},
      {"flow_layers", &RunConfig::flow_layers, "normalizing flows: coupling or MAF layers"},
      {"flow_hidden_layers", &RunConfig::flow_hidden_layers,
       "normalizing flows: hidden layers of each coupling network or MADE"},
      {"flow_levels", &RunConfig::flow_levels,
       "image flows: multi-scale levels (squeezes); the side must divide by 2^levels"},
      {"scale_bound", &RunConfig::scale_bound,
       "normalizing flows: bound on each layer's |log-scale| (soft clamp)"},
      {"unet", &RunConfig::unet, "model = unet: option set (fmnist, fmnist-large)"},
      {"base_channels", &RunConfig::base_channels,
       "model = unet: channels at full resolution (0 = the option set's)"},
      {"steps", &RunConfig::steps, "optimizer steps"},
      {"batch_size", &RunConfig::batch_size, "pairs per step"},
      {"optimizer", &RunConfig::optimizer, "adam or adamw"},
      {"lr", &RunConfig::lr, "peak learning rate"},
      {"weight_decay", &RunConfig::weight_decay, "decoupled weight decay (adamw)"},
      {"beta1", &RunConfig::beta1, "Adam beta1"},
      {"beta2", &RunConfig::beta2, "Adam beta2"},
      {"warmup_steps", &RunConfig::warmup_steps, "linear learning-rate warm-up steps"},
      {"lr_schedule", &RunConfig::lr_schedule, "cosine or constant after the warm-up"},
      {"min_lr_ratio", &RunConfig::min_lr_ratio, "final learning rate / peak (cosine)"},
      {"grad_clip", &RunConfig::grad_clip, "clip the global gradient norm to this (0 = off)"},
      {"ema_decay", &RunConfig::ema_decay, "decay of the weights' moving average (0 = off)"},
      {"accum", &RunConfig::accum, "micro-batches of batch_size per optimizer step"},
      {"shards", &RunConfig::shards,
       "velocity networks on the CPU: row shards of each micro-batch whose gradients run side by "
       "side, one per thread, summed in a fixed order (the numbers do not depend on --threads)"},
      {"precision", &RunConfig::precision, "fp32, or bf16 (autocast on CUDA; fp32 on the CPU)"},
      {"checkpoint_every", &RunConfig::checkpoint_every, "steps between checkpoints"},
      {"log_every", &RunConfig::log_every, "steps between rows of train_log.csv"},
      {"sample_every", &RunConfig::sample_every,
       "steps between preview pictures in DIR/samples (0 = none)"},
      {"seed", &RunConfig::seed, "seed of every random draw"},
      {"device", &RunConfig::device, "auto, cpu, cuda or cuda:N"},
      {"sample_solver", &RunConfig::sample_solver, "default solver of sample/eval/viz"},
      {"sample_steps", &RunConfig::sample_steps, "default solver steps of sample/eval/viz"},
      {"temperature", &RunConfig::temperature,
       "normalizing flows: std of the base samples when sampling (1 = the model)"},
      {"guidance", &RunConfig::guidance,
       "classifier-free guidance weight of sample/eval (1 = plain conditional)"},
  };
  return kKeys;
}

const KeyEntry& find_key(const std::string& key) {
  for (const auto& entry : key_table()) {
    if (key == entry.name) return entry;
  }
  std::string valid;
  for (const auto& entry : key_table())
    valid += (valid.empty() ? "" : ", ") + std::string(entry.name);
  throw std::invalid_argument("[config] unknown key '" + key + "' (valid: " + valid + ")");
}

std::int64_t parse_int(const std::string& key, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  check_arg(!text.empty() && end == text.c_str() + text.size() && errno == 0, "[config] ", key,
            " must be an integer, got '", text, "'");
  return value;
}

double parse_float(const std::string& key, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  check_arg(
      !text.empty() && end == text.c_str() + text.size() && errno == 0 && std::isfinite(value),
      "[config] ", key, " must be a finite number, got '", text, "'");
  return value;
}

std::string format_float(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  std::string text = out.str();
  // Keep it a TOML float: "1" would read back as an integer, which is fine for us, but a float
  // literal documents the type.
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

}  // namespace

const std::vector<ConfigKeyInfo>& config_keys() {
  static const std::vector<ConfigKeyInfo> kInfo = [] {
    std::vector<ConfigKeyInfo> info;
    for (const auto& entry : key_table()) {
      const char* type = std::holds_alternative<std::string RunConfig::*>(entry.member) ? "string"
                         : std::holds_alternative<std::int64_t RunConfig::*>(entry.member)
                             ? "int"
                             : "float";
      info.push_back({entry.name, type, entry.help});
    }
    return info;
  }();
  return kInfo;
}

void set_config_value(RunConfig& config, const std::string& key, const std::string& value) {
  const KeyEntry& entry = find_key(key);
  // The configuration is kept as JSON in every model and checkpoint, which holds only UTF-8.
  if (!is_utf8(value)) {
    throw std::invalid_argument("[config] " + key + ": the value '" + printable(value) +
                                "' is not UTF-8 text");
  }
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(config.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          config.*member = value;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          config.*member = parse_int(key, value);
        } else {
          config.*member = parse_float(key, value);
        }
      },
      entry.member);
}

void apply_config_assignment(RunConfig& config, const std::string& assignment) {
  const auto equals = assignment.find('=');
  check_arg(equals != std::string::npos && equals > 0, "[--set] expected key=value, got '",
            assignment, "'");
  set_config_value(config, assignment.substr(0, equals), assignment.substr(equals + 1));
}

std::string get_config_value(const RunConfig& config, const std::string& key) {
  const KeyEntry& entry = find_key(key);
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::decay_t<decltype(config.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return config.*member;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(config.*member);
        } else {
          return format_float(config.*member);
        }
      },
      entry.member);
}

void validate_config(const RunConfig& c) {
  validate_data_config(c);
  parse_coupling(c.coupling);
  check_arg(c.reg > 0, "[config] reg must be > 0, got ", c.reg);
  check_path_source(parse_path(c.path), c.source);
  check_arg(c.sigma >= 0, "[config] sigma must be >= 0, got ", c.sigma);
  check_arg(c.time_skew >= 1 && c.time_skew <= 100, "[config] time_skew must be in [1, 100], got ",
            c.time_skew);
  check_arg(c.source_noise >= 0 && c.source_noise <= 100,
            "[config] source_noise must be in [0, 100], got ", c.source_noise);
  check_arg(c.source_noise == 0 || c.source == "input",
            "[config] source_noise applies to source = input only (source is '", c.source, "')");
  make_path(parse_path(c.path), c.sigma);  // the path's own checks (bridge needs sigma > 0, ...)
  const ModelEntry& model = find_model(c.model);  // throws listing the models
  if (model.validate) model.validate(c);
  check_arg(c.temperature > 0 && c.temperature <= 10,
            "[config] temperature must be in (0, 10], got ", c.temperature);
  check_arg(c.width >= 1 && c.width <= 65536, "[config] width must be in [1, 65536], got ",
            c.width);
  check_arg(c.depth >= 1 && c.depth <= 64, "[config] depth must be in [1, 64], got ", c.depth);
  check_arg(c.time_dim >= 2 && c.time_dim % 2 == 0 && c.time_dim <= 4096,
            "[config] time_dim must be even and in [2, 4096], got ", c.time_dim);
  parse_activation(c.activation);
  check_arg(c.fourier_features >= 0 && c.fourier_features <= 4096,
            "[config] fourier_features must be in [0, 4096], got ", c.fourier_features);
  check_arg(c.fourier_scale > 0, "[config] fourier_scale must be > 0, got ", c.fourier_scale);
  check_arg(c.prediction == "velocity" || c.prediction == "x1", "[config] prediction: unknown '",
            c.prediction, "' (valid: velocity, x1)");
  check_arg(c.x1_floor > 0 && c.x1_floor <= 1, "[config] x1_floor must be in (0, 1], got ",
            c.x1_floor);
  check_arg(c.steps >= 1 && c.steps <= 1'000'000'000, "[config] steps must be in [1, 10^9], got ",
            c.steps);
  check_arg(c.batch_size >= 1 && c.batch_size <= (1 << 24),
            "[config] batch_size must be in [1, 2^24], got ", c.batch_size);
  check_arg(c.optimizer == "adam" || c.optimizer == "adamw", "[config] optimizer: unknown '",
            c.optimizer, "' (valid: adam, adamw)");
  check_arg(c.lr > 0, "[config] lr must be > 0, got ", c.lr);
  check_arg(c.weight_decay >= 0, "[config] weight_decay must be >= 0, got ", c.weight_decay);
  check_arg(c.beta1 >= 0 && c.beta1 < 1, "[config] beta1 must be in [0, 1), got ", c.beta1);
  check_arg(c.beta2 >= 0 && c.beta2 < 1, "[config] beta2 must be in [0, 1), got ", c.beta2);
  check_arg(c.warmup_steps >= 0, "[config] warmup_steps must be >= 0, got ", c.warmup_steps);
  check_arg(c.lr_schedule == "cosine" || c.lr_schedule == "constant",
            "[config] lr_schedule: unknown '", c.lr_schedule, "' (valid: cosine, constant)");
  check_arg(c.min_lr_ratio >= 0 && c.min_lr_ratio <= 1,
            "[config] min_lr_ratio must be in [0, 1], got ", c.min_lr_ratio);
  check_arg(c.grad_clip >= 0, "[config] grad_clip must be >= 0, got ", c.grad_clip);
  check_arg(c.ema_decay >= 0 && c.ema_decay < 1, "[config] ema_decay must be in [0, 1), got ",
            c.ema_decay);
  check_arg(c.accum >= 1 && c.accum <= 1024, "[config] accum must be in [1, 1024], got ", c.accum);
  check_arg(c.shards >= 1 && c.shards <= 256, "[config] shards must be in [1, 256], got ",
            c.shards);
  check_arg(c.shards <= c.batch_size, "[config] shards (", c.shards,
            ") must not exceed batch_size (", c.batch_size, ")");
  check_arg(c.precision == "fp32" || c.precision == "bf16", "[config] precision: unknown '",
            c.precision, "' (valid: fp32, bf16)");
  check_arg(c.sample_every >= 0, "[config] sample_every must be >= 0, got ", c.sample_every);
  check_arg(std::isfinite(c.guidance) && c.guidance >= 0 && c.guidance <= 100,
            "[config] guidance must be in [0, 100], got ", c.guidance);
  check_arg(c.checkpoint_every >= 1, "[config] checkpoint_every must be >= 1, got ",
            c.checkpoint_every);
  check_arg(c.log_every >= 1, "[config] log_every must be >= 1, got ", c.log_every);
  check_arg(c.seed >= 0, "[config] seed must be >= 0, got ", c.seed);
  parse_solver(c.sample_solver);
  check_arg(c.sample_steps >= 1 && c.sample_steps <= kMaxSolverSteps,
            "[config] sample_steps must be in [1, ", kMaxSolverSteps, "], got ", c.sample_steps);
}

nlohmann::json config_to_json(const RunConfig& config) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& entry : key_table()) {
    std::visit([&](auto member) { json[entry.name] = config.*member; }, entry.member);
  }
  return json;
}

RunConfig config_from_json(const nlohmann::json& json) {
  check_arg(json.is_object(), "[config] JSON configuration must be an object");
  RunConfig config;
  // Named, not structured bindings: C++17 lets no lambda capture those (GCC allows it anyway,
  // clang, which builds the fuzz targets, does not).
  for (const auto& item : json.items()) {
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    const KeyEntry& entry = find_key(key);
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(config.*member)>;
          if constexpr (std::is_same_v<T, std::string>) {
            check_arg(value.is_string(), "[config] ", key, " must be a string");
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            check_arg(value.is_number_integer(), "[config] ", key, " must be an integer");
          } else {
            check_arg(value.is_number(), "[config] ", key, " must be a number");
          }
          config.*member = value.get<T>();
        },
        entry.member);
  }
  return config;
}

std::string config_to_toml(const RunConfig& config) {
  std::string text =
      "# flowinone run configuration: one key per line (flowinone train --config FILE)\n";
  for (const auto& entry : key_table()) {
    std::string value = get_config_value(config, entry.name);
    if (std::holds_alternative<std::string RunConfig::*>(entry.member)) {
      value = nlohmann::json(value).dump();  // a JSON string is a valid TOML basic string
    }
    text += std::string(entry.name) + " = " + value + "  # " + entry.help + "\n";
  }
  return text;
}

RunConfig load_preset(const std::string& name) {
  for (const auto& [stem, text] : flowinone_presets()) {
    if (stem == name) return config_from_toml(text, "preset " + name);
  }
  std::string valid;
  for (const auto& preset : preset_names()) valid += (valid.empty() ? "" : ", ") + preset;
  throw std::invalid_argument("[--preset] unknown preset '" + name + "' (valid: " + valid + ")");
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& entry : flowinone_presets()) names.push_back(entry.first);
  return names;
}

}  // namespace fi
