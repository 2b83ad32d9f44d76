#include "flowinone/train/trainer.h"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/core/runtime.h"
#include "flowinone/couplings/coupling.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/paths/path.h"
#include "flowinone/train/adamw.h"
#include "flowinone/train/checkpoint.h"
#include "flowinone/train/ema.h"
#include "flowinone/train/lr_schedule.h"
#include "flowinone/train/model_dir.h"

namespace fi {

struct FlowMatchingTrainer::State {
  RunConfig config;
  c10::Device device;
  VelocityModelPtr model;
  std::vector<torch::Tensor> parameters;
  std::unique_ptr<Adam> optimizer;
  std::unique_ptr<Ema> ema;
  LrSchedule schedule;
  at::Generator generator;
  std::unique_ptr<Toy2dDataset> source;
  std::unique_ptr<Toy2dDataset> target;
  std::unique_ptr<Coupling> coupling;
  std::unique_ptr<ProbabilityPath> path;
  std::int64_t step = 0;
  double learning_rate = 0;
  double grad_norm = 0;
};

FlowMatchingTrainer::FlowMatchingTrainer(const RunConfig& config, const c10::Device& device)
    : state_(new State{config, device}) {
  validate_config(config);
  State& s = *state_;
  // Model initialization draws from torch's global generator; data from our own.
  seed_global(static_cast<std::uint64_t>(config.seed));
  s.model = build_model(config);
  s.model->to(device);
  s.model->train();
  s.parameters = s.model->parameters();
  s.optimizer = std::make_unique<Adam>(
      s.parameters, AdamOptions{config.beta1, config.beta2, 1e-8, config.weight_decay,
                                config.optimizer == "adamw"});
  s.ema = std::make_unique<Ema>(s.parameters, config.ema_decay);
  s.schedule = LrSchedule{config.lr, config.warmup_steps, config.steps,
                          config.lr_schedule == "cosine", config.min_lr_ratio};
  s.generator = make_generator(static_cast<std::uint64_t>(config.seed) ^ 0x5eedda7aULL);
  s.source = make_toy2d(config.source);
  s.target = make_toy2d(config.target);
  CouplingOptions coupling_options;
  coupling_options.reg = config.reg;
  s.coupling = make_coupling(parse_coupling(config.coupling), coupling_options);
  s.path = make_path(parse_path(config.path), config.sigma);
}

FlowMatchingTrainer::~FlowMatchingTrainer() = default;

torch::Tensor FlowMatchingTrainer::step() {
  State& s = *state_;
  const std::int64_t batch = s.config.batch_size;
  const CoupledPairs pairs = s.coupling->pair(s.source->sample(batch, s.generator).to(s.device),
                                              s.target->sample(batch, s.generator).to(s.device),
                                              torch::Tensor(), s.generator);
  const torch::Tensor t = sample_times(batch, s.generator, s.device, s.config.time_skew);
  const PathSample sample = s.path->sample(pairs.x0, pairs.x1, t, s.generator);
  const torch::Tensor loss = (s.model->forward(sample.xt, sample.t) - sample.ut).pow(2).mean();

  s.optimizer->zero_grad();
  loss.backward();
  s.grad_norm = clip_grad_norm(s.parameters, s.config.grad_clip);
  s.learning_rate = s.schedule.at(s.step);
  s.optimizer->step(s.learning_rate);
  s.ema->update(s.parameters);
  ++s.step;
  return loss.detach();
}

std::int64_t FlowMatchingTrainer::steps_done() const { return state_->step; }
double FlowMatchingTrainer::last_learning_rate() const { return state_->learning_rate; }
double FlowMatchingTrainer::last_grad_norm() const { return state_->grad_norm; }

NamedTensors FlowMatchingTrainer::state() const {
  const State& s = *state_;
  NamedTensors tensors;
  for (auto& [name, tensor] : model_tensors(*s.model))
    tensors.emplace_back("model." + name, tensor);
  for (auto& item : s.optimizer->state("adam.")) tensors.push_back(item);
  for (auto& item : s.ema->state("ema.")) tensors.push_back(item);
  tensors.emplace_back("rng.data", s.generator.get_state());
  return tensors;
}

void FlowMatchingTrainer::load_state(const std::map<std::string, torch::Tensor>& tensors,
                                     std::int64_t step, const std::string& source) {
  State& s = *state_;
  load_model_tensors(*s.model, tensors, "model.", source);
  s.optimizer->load_state(tensors, "adam.");
  s.ema->load_state(tensors, "ema.");
  auto rng = tensors.find("rng.data");
  check_file(rng != tensors.end(), "[load_state] ", source, ": lacks the generator state");
  try {
    s.generator.set_state(rng->second);
  } catch (const std::exception& error) {
    throw FileError("[load_state] " + source + ": bad generator state");
  }
  s.step = step;
}

VelocityModelPtr FlowMatchingTrainer::averaged_model() const {
  VelocityModelPtr averaged = build_model(state_->config);
  state_->ema->copy_to(averaged->parameters());
  // Buffers (fixed Fourier frequencies, say) are not averaged: they are the training model's.
  torch::NoGradGuard no_grad;
  auto source_buffers = state_->model->named_buffers();
  for (auto& item : averaged->named_buffers()) item.value().copy_(source_buffers[item.key()]);
  averaged->eval();
  return averaged;
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kLogHeader = "step,loss,lr,grad_norm,seconds\n";

// Keys that may differ between a checkpoint and the configuration resuming it.
bool may_change_on_resume(const std::string& key) {
  return key == "steps" || key == "device" || key == "checkpoint_every" || key == "log_every";
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

TrainResult train_flow_matching(const RunConfig& config, const TrainOptions& options,
                                const TrainCallbacks& callbacks) {
  validate_config(config);
  check_arg(!options.out_dir.empty(), "[train] an output directory is required");
  const c10::Device device = parse_device(config.device);
  FlowMatchingTrainer trainer(config, device);

  ensure_directory(options.out_dir);
  const std::string log_path = options.out_dir + "/train_log.csv";
  if (options.resume) {
    CheckpointContents checkpoint = load_checkpoint(options.out_dir);
    check_resume_config(checkpoint.config, config);
    trainer.load_state(checkpoint.tensors, checkpoint.step, checkpoint_path(options.out_dir));
    truncate_log(log_path, checkpoint.step);
  } else {
    write_file_atomic(log_path, kLogHeader);
  }
  std::ofstream log(log_path, std::ios::app);
  check_file(log.good(), "[train] cannot append to ", log_path);

  auto write_checkpoint = [&] {
    log.flush();
    save_checkpoint(options.out_dir, trainer.state(), config, trainer.steps_done());
    save_model_dir(options.out_dir, *trainer.averaged_model(), config, trainer.steps_done());
  };

  TrainResult result;
  const auto start = Clock::now();
  const std::int64_t first_step = trainer.steps_done();
  // Losses are summed on the device and read only when reported, so CUDA steps do not sync.
  torch::Tensor loss_sum =
      torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  std::int64_t loss_count = 0;
  const std::int64_t report_every = std::max<std::int64_t>(1, callbacks.report_every);

  while (trainer.steps_done() < config.steps) {
    if (callbacks.should_stop && callbacks.should_stop()) {
      result.stopped_early = true;
      break;
    }
    loss_sum += trainer.step().to(torch::kFloat64);
    ++loss_count;
    const std::int64_t step = trainer.steps_done();
    const bool last = step == config.steps;
    const bool log_now = step % config.log_every == 0 || last;
    if (log_now || step % report_every == 0) {
      result.final_loss = loss_sum.item<double>() / static_cast<double>(loss_count);
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (log_now) {
        log << step << ',' << result.final_loss << ',' << trainer.last_learning_rate() << ','
            << trainer.last_grad_norm() << ',' << elapsed << '\n';
      }
      if (callbacks.on_progress) {
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
  }
  write_checkpoint();
  result.steps_done = trainer.steps_done();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace fi
