// The configuration of a run: everything needed to rebuild, train and sample a model.
//
// One flat set of keys, shared by the presets (configs/*.toml), `--set key=value` on the command
// line, config.toml in a model directory, and the JSON in model.safetensors' metadata. Defaults
// live here and nowhere else; config_keys() documents every key.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace fi {

struct RunConfig {
  // Data: what flows into what (train/training_data.h lists the data sets).
  std::string source = "gaussian";      // t = 0: a toy2d name, gaussian, or input (image pairs)
  std::string target = "checkerboard";  // t = 1: a toy2d name or an image data set
  std::string data_dir;                 // image data: where the files are ("" = the default)
  std::int64_t image_size = 0;          // image data: side in pixels (0 = the data set's own)
  std::int64_t channels = 0;            // image data: 1 or 3 (0 = the data set's own)
  std::int64_t num_classes = 0;         // class-conditional models: classes (0 = none)
  double label_dropout = 0.1;           // share of labels replaced by the null class
  double input_dropout = 0.1;           // image pairs: share of condition images blanked
  std::int64_t random_flip = 0;         // image data: 1 mirrors examples at random
  std::int64_t num_workers = 2;         // image data: background loader threads
  // Coupling of the endpoints and path between them.
  std::string coupling = "independent";
  double reg = 0.05;
  std::string path = "straight";
  double sigma = 0.0;
  double time_skew = 1.0;
  double source_noise = 0.0;  // source = input: x0 = input + source_noise * eps
  // Model.
  std::string model = "mlp";
  std::int64_t width = 256;
  std::int64_t depth = 4;
  std::int64_t time_dim = 32;
  std::string activation = "silu";
  std::int64_t fourier_features = 0;
  double fourier_scale = 1.0;
  std::string prediction = "velocity";  // what the network outputs: velocity, or x1 (the data)
  double x1_floor = 0.05;               // prediction = x1: v = (x1_hat - x) / max(1 - t, floor)
  // Normalizing flows (model = realnvp, maf, nice, glow) are trained by maximum likelihood on the
  // target; `width` is the hidden width of their coupling networks and MADEs.
  std::int64_t flow_layers = 8;
  std::int64_t flow_hidden_layers = 2;
  std::int64_t flow_levels = 2;  // image flows: squeezes (multi-scale levels)
  double scale_bound = 3.0;
  // The image UNet (model = unet): a named option set, with overrides.
  std::string unet = "fmnist";
  std::int64_t base_channels = 0;  // 0 = the option set's
  // Optimization.
  std::int64_t steps = 20000;
  std::int64_t batch_size = 256;
  std::string optimizer = "adamw";
  double lr = 1e-3;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  std::int64_t warmup_steps = 500;
  std::string lr_schedule = "cosine";
  double min_lr_ratio = 0.05;
  double grad_clip = 1.0;
  double ema_decay = 0.999;
  std::int64_t accum = 1;   // micro-batches of batch_size per optimizer step
  std::int64_t shards = 1;  // row shards of a micro-batch, their gradients computed side by side
  std::string precision = "fp32";  // fp32, or bf16 (autocast on CUDA; float32 on the CPU)
  // Bookkeeping.
  std::int64_t checkpoint_every = 2000;
  std::int64_t log_every = 100;
  std::int64_t sample_every = 0;  // steps between preview grids in DIR/samples (0 = none)
  std::int64_t seed = 0;
  std::string device = "auto";
  // Sampling defaults used by sample/eval/viz when the flags are not given.
  std::string sample_solver = "euler";
  std::int64_t sample_steps = 100;
  double temperature = 1.0;  // normalizing flows: std of the base samples
  double guidance = 1.0;     // classifier-free guidance weight of sample/eval (1 = none)
};

struct ConfigKeyInfo {
  std::string name;
  std::string type;  // "string", "int" or "float"
  std::string help;
};

/// Every key, in declaration order, with its type and a one-line description.
const std::vector<ConfigKeyInfo>& config_keys();

/// Sets one key from text ("256", "1e-3", "moons"). Throws std::invalid_argument naming the key
/// and value when the key is unknown (listing the valid keys) or the text is not of its type.
void set_config_value(RunConfig& config, const std::string& key, const std::string& value);

/// Applies "key=value"; throws std::invalid_argument when there is no '='.
void apply_config_assignment(RunConfig& config, const std::string& assignment);

/// The value of a key as text.
std::string get_config_value(const RunConfig& config, const std::string& key);

/// Checks names (data sets, path, model, solver, ...) and ranges; throws std::invalid_argument
/// naming the key.
void validate_config(const RunConfig& config);

nlohmann::json config_to_json(const RunConfig& config);
/// Starts from the defaults and applies every member of `json`; unknown keys throw.
RunConfig config_from_json(const nlohmann::json& json);

/// config.toml text: one `key = value` line per key with its description as a comment.
std::string config_to_toml(const RunConfig& config);
/// Parses flat TOML (no tables); `source_name` (a path or preset name) is quoted in errors.
/// Throws FileError for malformed TOML and std::invalid_argument for unknown keys or bad values.
RunConfig config_from_toml(const std::string& text, const std::string& source_name);

/// The preset with this name (configs/NAME.toml, embedded at build time); throws
/// std::invalid_argument listing the preset names.
RunConfig load_preset(const std::string& name);
std::vector<std::string> preset_names();

}  // namespace fi
