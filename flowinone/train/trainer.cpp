#include "flowinone/train/trainer.h"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/core/runtime.h"
#include "flowinone/core/single_threaded.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/generative/model_registry.h"
#include "flowinone/io/png.h"
#include "flowinone/train/adamw.h"
#include "flowinone/train/checkpoint.h"
#include "flowinone/train/ema.h"
#include "flowinone/train/lr_schedule.h"
#include "flowinone/train/preview.h"
#include "flowinone/train/training_data.h"
#include "flowinone/train/training_objective.h"

namespace fi {

struct Trainer::State {
  RunConfig config;
  c10::Device device;
  GenerativeModelPtr model;  // the model being trained
  std::vector<torch::Tensor> parameters;
  std::unique_ptr<Adam> optimizer;
  std::unique_ptr<Ema> ema;
  LrSchedule schedule;
  at::Generator generator;
  std::unique_ptr<TrainingData> data;
  std::unique_ptr<TrainingObjective> objective;
  std::int64_t step = 0;
  double learning_rate = 0;
  double grad_norm = 0;
  DistributedContextPtr distributed;
  std::unique_ptr<GradientReducer> reducer;
};

Trainer::Trainer(const RunConfig& config, const c10::Device& device,
                 DistributedContextPtr distributed, const GradientReducerOptions& reducer)
    : state_(new State{config, device}) {
  validate_config(config);
  State& s = *state_;
  // Model initialization draws from torch's global generator; data from our own.
  seed_global(static_cast<std::uint64_t>(config.seed));
  s.model = build_generative_model(config);
  torch::nn::Module& module = s.model->module();
  module.to(device);
  module.train();
  const bool parallel = distributed && distributed->world_size() > 1;
  const RankRows rows{parallel ? distributed->rank() : 0, parallel ? distributed->world_size() : 1,
                      config.batch_size};
  s.data = make_training_data(config, rows.global());
  s.generator = make_generator(static_cast<std::uint64_t>(config.seed) ^ 0x5eedda7aULL);
  s.parameters = module.parameters();
  // The objective initializes what it must from data (a flow's ActNorm) before the EMA copies
  // the weights.
  s.objective = make_training_objective(
      *s.model, ObjectiveContext{config, device, s.data.get(), s.generator, rows, s.parameters});
  s.optimizer = std::make_unique<Adam>(
      s.parameters, AdamOptions{config.beta1, config.beta2, 1e-8, config.weight_decay,
                                config.optimizer == "adamw"});
  s.ema = std::make_unique<Ema>(s.parameters, config.ema_decay);
  s.schedule = LrSchedule{config.lr, config.warmup_steps, config.steps,
                          config.lr_schedule == "cosine", config.min_lr_ratio};
  if (parallel) {
    // Same seed, same weights already; the broadcast makes it a guarantee, not a coincidence.
    std::vector<torch::Tensor> replicated;
    for (const auto& p : module.parameters()) replicated.push_back(p.detach());
    for (const auto& b : module.buffers()) replicated.push_back(b.detach());
    distributed->broadcast(replicated, 0);
    s.ema = std::make_unique<Ema>(s.parameters, config.ema_decay);
    s.reducer = std::make_unique<GradientReducer>(s.parameters, distributed, reducer);
    s.distributed = std::move(distributed);
  }
}

Trainer::~Trainer() = default;

torch::Tensor Trainer::step() {
  State& s = *state_;
  // A 2D model's step (a few hundred rows through 64- to 256-wide layers) is far too small for
  // torch's intra-op threads (core/single_threaded.h): its operations run on this thread alone,
  // and gradient shards, when configured, are what spreads the rows over the cores.
  std::optional<SingleThreaded> single;
  if (!is_image_data(s.config) && s.device.is_cpu() && s.config.shards <= 1) single.emplace();
  s.optimizer->zero_grad();
  // Gradient accumulation: accum micro-batches, each backward of loss / accum, so the gradient is
  // that of the mean loss over accum x batch_size examples. Ranks all-reduce once, on the last.
  const std::int64_t accum = s.config.accum;
  torch::Tensor total;
  for (std::int64_t micro = 0; micro < accum; ++micro) {
    MicroStep context{s.step, accum, nullptr};
    if (s.reducer && micro == accum - 1)
      context.before_backward = [&] { s.reducer->prepare_for_backward(); };
    const torch::Tensor loss = s.objective->accumulate_gradient(context);
    total = micro == 0 ? loss : total + loss;
  }
  // Every rank now holds the mean gradient. Gradients filled without the reducer's hooks (shards)
  // are reduced here, after the last backward pass.
  if (s.reducer) s.reducer->finish();
  return optimizer_step(accum > 1 ? total / static_cast<double>(accum) : total);
}

torch::Tensor Trainer::optimizer_step(const torch::Tensor& loss) {
  State& s = *state_;
  s.grad_norm = clip_grad_norm(s.parameters, s.config.grad_clip);
  s.learning_rate = s.schedule.at(s.step);
  s.optimizer->step(s.learning_rate);
  s.ema->update(s.parameters);
  ++s.step;
  return loss.detach();
}

std::int64_t Trainer::steps_done() const { return state_->step; }
double Trainer::last_learning_rate() const { return state_->learning_rate; }
double Trainer::last_grad_norm() const { return state_->grad_norm; }
double Trainer::communication_seconds() const {
  return state_->reducer ? state_->reducer->communication_seconds() : 0.0;
}

NamedTensors Trainer::state() const {
  const State& s = *state_;
  NamedTensors tensors;
  for (auto& [name, tensor] : model_tensors(s.model->module()))
    tensors.emplace_back("model." + name, tensor);
  for (auto& item : s.optimizer->state("adam.")) tensors.push_back(item);
  for (auto& item : s.ema->state("ema.")) tensors.push_back(item);
  tensors.emplace_back("rng.data", s.generator.get_state());
  // Dropout draws from torch's global generator (on the CPU; CUDA's is not saved).
  tensors.emplace_back("rng.global", global_cpu_generator().get_state());
  for (auto& item : s.data->state()) tensors.push_back(item);
  return tensors;
}

void Trainer::load_state(const std::map<std::string, torch::Tensor>& tensors, std::int64_t step,
                         const std::string& source) {
  State& s = *state_;
  load_model_tensors(s.model->module(), tensors, "model.", source);
  s.optimizer->load_state(tensors, "adam.");
  s.ema->load_state(tensors, "ema.");
  auto rng = tensors.find("rng.data");
  check_file(rng != tensors.end(), "[load_state] ", source, ": lacks the generator state");
  try {
    s.generator.set_state(rng->second);
  } catch (const std::exception& error) {
    throw FileError("[load_state] " + source + ": bad generator state");
  }
  auto global_rng = tensors.find("rng.global");
  if (global_rng != tensors.end()) {  // checkpoints from before it was saved lack it
    try {
      global_cpu_generator().set_state(global_rng->second);
    } catch (const std::exception& error) {
      throw FileError("[load_state] " + source + ": bad global generator state");
    }
  }
  s.data->load_state(tensors, source);
  // Adam and the EMA count one update per step: a checkpoint whose counts disagree with its step
  // was edited, and would resume with the wrong bias correction or averaging weight.
  check_file(step >= 0, "[load_state] ", source, ": step ", step, " is negative");
  check_file(s.optimizer->num_steps() == step, "[load_state] ", source, ": adam.step is ",
             s.optimizer->num_steps(), " but the checkpoint is at step ", step,
             ": the file is damaged or was tampered with");
  check_file(s.ema->num_updates() == step, "[load_state] ", source, ": ema.num_updates is ",
             s.ema->num_updates(), " but the checkpoint is at step ", step,
             ": the file is damaged or was tampered with");
  s.step = step;
}

GenerativeModelPtr Trainer::averaged_model() const {
  GenerativeModelPtr averaged;
  {
    // Building draws initial weights from the global generator, which dropout also draws from.
    GlobalGeneratorRestorer restore;
    averaged = build_generative_model(state_->config);
  }
  torch::nn::Module& module = averaged->module();
  state_->ema->copy_to(module.parameters());
  // Buffers (fixed Fourier frequencies, say) are not averaged: they are the training model's.
  torch::NoGradGuard no_grad;
  auto source_buffers = state_->model->module().named_buffers();
  for (auto& item : module.named_buffers()) item.value().copy_(source_buffers[item.key()]);
  module.eval();
  return averaged;
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kLogHeader = "step,loss,lr,grad_norm,seconds\n";

// Keys that may differ between a checkpoint and the configuration resuming it.
bool may_change_on_resume(const std::string& key) {
  return key == "steps" || key == "device" || key == "checkpoint_every" || key == "log_every" ||
         key == "shards";
}

void check_resume_config(const RunConfig& stored, const RunConfig& given) {
  const nlohmann::json a = config_to_json(stored);
  const nlohmann::json b = config_to_json(given);
  std::string differing;
  for (const auto& [key, value] : a.items()) {
    if (!may_change_on_resume(key) && b.at(key) != value) {
      differing += (differing.empty() ? "" : ", ") + key + " (checkpoint " + value.dump() +
                   ", now " + b.at(key).dump() + ")";
    }
  }
  check_arg(differing.empty(),
            "[--resume] the configuration differs from the checkpoint's in: ", differing);
}

// Keeps the log rows up to `step`: a crash may have logged past the last checkpoint.
void truncate_log(const std::string& path, std::int64_t step) {
  std::ifstream in(path);
  std::string line, kept = kLogHeader;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    const std::int64_t row_step = std::strtoll(line.c_str(), nullptr, 10);
    if (!line.empty() && row_step <= step) kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace

TrainResult train_model(const RunConfig& config, const TrainOptions& options,
                        const TrainCallbacks& callbacks) {
  validate_config(config);
  check_arg(!options.out_dir.empty(), "[train] an output directory is required");
  const DistributedContextPtr& distributed = options.distributed;
  const bool is_main = !distributed || distributed->is_main();
  const c10::Device device =
      distributed ? device_for_rank(parse_device(config.device), distributed->local_rank())
                  : parse_device(config.device);
  if (distributed) {
    const std::string mine = config_to_json(config).dump();
    check_arg(distributed->share_from_main("config", mine) == mine, "[train] rank ",
              distributed->rank(), " was given a configuration that differs from rank 0's");
  }
  Trainer trainer(config, device, distributed, options.reducer);

  const std::string log_path = options.out_dir + "/train_log.csv";
  if (is_main) ensure_directory(options.out_dir);
  if (options.resume) {
    // Every rank reads the checkpoint (the directory must be shared, or copied to every host).
    CheckpointContents checkpoint = load_checkpoint(options.out_dir);
    check_resume_config(checkpoint.config, config);
    trainer.load_state(checkpoint.tensors, checkpoint.step, checkpoint_path(options.out_dir));
    if (distributed) {
      const std::string step = std::to_string(checkpoint.step);
      check_arg(distributed->share_from_main("resume_step", step) == step, "[--resume] rank ",
                distributed->rank(), " read a checkpoint at step ", step,
                ", unlike rank 0: give every rank the same checkpoint");
    }
    if (is_main) truncate_log(log_path, checkpoint.step);
  } else if (is_main) {
    write_file_atomic(log_path, kLogHeader);
  }
  std::ofstream log;
  if (is_main) {
    log.open(log_path, std::ios::app);
    check_file(log.good(), "[train] cannot append to ", log_path);
  }

  // The step of the files on disk: a diverged run refuses to write over them.
  std::int64_t saved_step = options.resume ? trainer.steps_done() : -1;
  auto write_checkpoint = [&] {
    if (!is_main) return;
    log.flush();
    const NamedTensors state = trainer.state();
    const GenerativeModelPtr averaged = trainer.averaged_model();
    std::string bad = first_non_finite(state);
    if (bad.empty()) bad = first_non_finite(model_tensors(averaged->module()));
    if (!bad.empty()) {
      throw std::runtime_error(
          "[train] step " + std::to_string(trainer.steps_done()) + ": '" + bad +
          "' holds NaN or Inf (training diverged: lower lr, or set grad_clip); " +
          (saved_step >= 0 ? options.out_dir + " keeps the model and checkpoint of step " +
                                 std::to_string(saved_step)
                           : std::string("this run wrote nothing")));
    }
    save_checkpoint(options.out_dir, state, config, trainer.steps_done());
    save_model_dir(options.out_dir, averaged->module(), config, trainer.steps_done());
    saved_step = trainer.steps_done();
  };

  TrainResult result;
  const auto start = Clock::now();
  const std::int64_t first_step = trainer.steps_done();
  // Losses are summed on the device and read only when reported, so CUDA steps do not sync.
  torch::Tensor loss_sum =
      torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  std::int64_t loss_count = 0;
  const std::int64_t report_every = std::max<std::int64_t>(1, callbacks.report_every);
  // Ranks stop together: a stop request is shared at the next report, when all ranks meet.
  bool stop_requested = false, stop_agreed = false;

  while (trainer.steps_done() < config.steps) {
    stop_requested = stop_requested || (callbacks.should_stop && callbacks.should_stop());
    if (distributed ? stop_agreed : stop_requested) {
      result.stopped_early = true;
      break;
    }
    loss_sum += trainer.step().to(torch::kFloat64);
    ++loss_count;
    const std::int64_t step = trainer.steps_done();
    const bool last = step == config.steps;
    const bool log_now = step % config.log_every == 0 || last;
    if (log_now || step % report_every == 0) {
      if (distributed) {
        // One small all-reduce: the global mean loss, and whether any rank was asked to stop.
        torch::Tensor shared = torch::stack(
            {loss_sum, torch::full({}, static_cast<double>(loss_count), loss_sum.options()),
             torch::full({}, stop_requested ? 1.0 : 0.0, loss_sum.options())});
        distributed->all_reduce_sum(shared);
        shared = shared.cpu();
        result.final_loss = shared[0].item<double>() / shared[1].item<double>();
        stop_agreed = shared[2].item<double>() > 0;
      } else {
        result.final_loss = loss_sum.item<double>() / static_cast<double>(loss_count);
      }
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (log_now && is_main) {
        log << step << ',' << result.final_loss << ',' << trainer.last_learning_rate() << ','
            << trainer.last_grad_norm() << ',' << elapsed << '\n';
      }
      if (callbacks.on_progress && is_main) {
        TrainProgress progress;
        progress.step = step;
        progress.total_steps = config.steps;
        progress.loss = result.final_loss;
        progress.learning_rate = trainer.last_learning_rate();
        progress.grad_norm = trainer.last_grad_norm();
        progress.elapsed_seconds = elapsed;
        progress.steps_per_second = elapsed > 0 ? double(step - first_step) / elapsed : 0;
        callbacks.on_progress(progress);
      }
      loss_sum.zero_();
      loss_count = 0;
    }
    if (step % config.checkpoint_every == 0 && !last) write_checkpoint();
    if (is_main && config.sample_every > 0 && (step % config.sample_every == 0 || last)) {
      const GenerativeModelPtr averaged = trainer.averaged_model();
      averaged->module().to(device);
      ensure_directory(options.out_dir + "/samples");
      write_png(preview_path(options.out_dir, step), preview_picture(*averaged));
    }
  }
  write_checkpoint();
  result.steps_done = trainer.steps_done();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.first_step = first_step;
  result.communication_seconds = trainer.communication_seconds();
  return result;
}

}  // namespace fi
