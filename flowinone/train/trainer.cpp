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
#include "flowinone/flows/bijector.h"
#include "flowinone/flows/flow.h"
#include "flowinone/io/png.h"
#include "flowinone/paths/path.h"
#include "flowinone/train/adamw.h"
#include "flowinone/train/checkpoint.h"
#include "flowinone/train/data_spec.h"
#include "flowinone/train/ema.h"
#include "flowinone/train/lr_schedule.h"
#include "flowinone/train/mixed_precision.h"
#include "flowinone/train/model_dir.h"
#include "flowinone/train/preview.h"
#include "flowinone/train/sharded_gradient.h"
#include "flowinone/train/training_data.h"

namespace fi {

struct Trainer::State {
  RunConfig config;
  c10::Device device;
  std::shared_ptr<torch::nn::Module> model;  // the trained module: `velocity` or `flow`
  VelocityModelPtr velocity;
  FlowPtr flow;
  std::vector<torch::Tensor> parameters;
  std::unique_ptr<Adam> optimizer;
  std::unique_ptr<Ema> ema;
  LrSchedule schedule;
  at::Generator generator;
  std::unique_ptr<TrainingData> data;
  std::unique_ptr<Toy2dDataset> source;  // 2D data: the source distribution; images: noise
  std::unique_ptr<Coupling> coupling;
  std::unique_ptr<ProbabilityPath> path;
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
  s.model = build_any_model(config);
  s.velocity = std::dynamic_pointer_cast<VelocityModel>(s.model);
  s.flow = std::dynamic_pointer_cast<Flow>(s.model);
  s.model->to(device);
  s.model->train();
  const std::int64_t world = distributed ? distributed->world_size() : 1;
  s.data = make_training_data(config, config.batch_size * world);
  if (s.flow) {
    // ActNorm's data-dependent initialization, on a batch from a generator of its own so that the
    // training draws are those of any other model with this seed.
    at::Generator init = make_generator(static_cast<std::uint64_t>(config.seed) ^ 0xac7e0a11ULL);
    s.flow->set_dequantization_generator(init);  // image flows: the noise of that batch
    const TrainingBatch batch =
        s.data->initialization_batch(std::max<std::int64_t>(config.batch_size, 512), init);
    s.flow->initialize(batch.x1.to(device),
                       batch.labels.defined() ? batch.labels.to(device) : torch::Tensor());
  }
  s.parameters = s.model->parameters();
  s.optimizer = std::make_unique<Adam>(
      s.parameters, AdamOptions{config.beta1, config.beta2, 1e-8, config.weight_decay,
                                config.optimizer == "adamw"});
  s.ema = std::make_unique<Ema>(s.parameters, config.ema_decay);
  s.schedule = LrSchedule{config.lr, config.warmup_steps, config.steps,
                          config.lr_schedule == "cosine", config.min_lr_ratio};
  s.generator = make_generator(static_cast<std::uint64_t>(config.seed) ^ 0x5eedda7aULL);
  // Image flows dequantize with noise from the training generator, whose state the checkpoint
  // holds, so that a resumed run draws the noise an uninterrupted one would.
  if (s.flow) s.flow->set_dequantization_generator(s.generator);
  if (!is_image_data(config)) s.source = make_toy2d(config.source);
  CouplingOptions coupling_options;
  coupling_options.reg = config.reg;
  s.coupling = make_coupling(parse_coupling(config.coupling), coupling_options);
  s.path = make_path(parse_path(config.path), config.sigma);
  if (distributed && distributed->world_size() > 1) {
    // Same seed, same weights already; the broadcast makes it a guarantee, not a coincidence.
    std::vector<torch::Tensor> replicated;
    for (const auto& p : s.model->parameters()) replicated.push_back(p.detach());
    for (const auto& b : s.model->buffers()) replicated.push_back(b.detach());
    distributed->broadcast(replicated, 0);
    s.ema = std::make_unique<Ema>(s.parameters, config.ema_decay);
    s.reducer = std::make_unique<GradientReducer>(s.parameters, distributed, reducer);
    s.distributed = std::move(distributed);
  }
}

Trainer::~Trainer() = default;

struct Trainer::VelocityBatch {
  torch::Tensor xt, t, ut;  // the model's input and time, the path's target velocity
  Conditioning cond;
};

namespace {

// This rank's rows of a global batch: rows [rank * local, (rank + 1) * local).
torch::Tensor local_rows(const torch::Tensor& global, std::int64_t rank, std::int64_t local) {
  return global.narrow(0, rank * local, local);
}

// The global batch with this rank's rows replaced by `rows`; the other rows are placeholders
// that only keep the shapes (and so the generator's draws) those of the global batch.
torch::Tensor with_local_rows(const torch::Tensor& global, const torch::Tensor& rows,
                              std::int64_t rank) {
  torch::Tensor merged = global.clone();
  merged.narrow(0, rank * rows.size(0), rows.size(0)).copy_(rows);
  return merged;
}

}  // namespace

torch::Tensor Trainer::step() {
  State& s = *state_;
  s.optimizer->zero_grad();
  // Gradient accumulation: accum micro-batches, each backward of loss / accum, so the gradient is
  // that of the mean loss over accum x batch_size examples. Ranks all-reduce once, on the last.
  const std::int64_t accum = s.config.accum;
  torch::Tensor total;
  for (std::int64_t micro = 0; micro < accum; ++micro) {
    torch::Tensor loss;
    if (s.config.shards > 1) {
      const VelocityBatch batch = velocity_batch();
      loss = accumulate_sharded_gradients(
          s.parameters, batch.xt.size(0), s.config.shards, s.device.is_cpu(),
          [&](std::int64_t begin, std::int64_t count) {
            return velocity_loss(batch, begin, count);
          },
          1.0 / static_cast<double>(accum));
    } else {
      loss = batch_loss();
      if (s.reducer && micro == accum - 1) s.reducer->prepare_for_backward();
      (accum > 1 ? loss / static_cast<double>(accum) : loss).backward();
    }
    total = micro == 0 ? loss.detach() : total + loss.detach();
  }
  // Every rank now holds the mean gradient. Shards fill .grad without the reducer's hooks, so
  // finish() reduces all of it after the last shard (no overlap with the backward passes).
  if (s.reducer) s.reducer->finish();
  return optimizer_step(accum > 1 ? total / static_cast<double>(accum) : total);
}

namespace {

// Replaces the rows where `drop` is true by `null_value`, for guidance's unconditional half.
torch::Tensor dropped(const torch::Tensor& values, const torch::Tensor& drop, double null_value) {
  torch::Tensor mask = drop;
  while (mask.dim() < values.dim()) mask = mask.unsqueeze(-1);
  return torch::where(mask.to(values.device()), torch::full({}, null_value, values.options()),
                      values);
}

}  // namespace

torch::Tensor Trainer::batch_loss() {
  State& s = *state_;
  if (!s.flow) {
    const VelocityBatch batch = velocity_batch();
    return velocity_loss(batch, 0, batch.xt.size(0));
  }
  const std::int64_t batch = s.config.batch_size;
  const std::int64_t rank = s.distributed ? s.distributed->rank() : 0;
  const std::int64_t global = batch * (s.distributed ? s.distributed->world_size() : 1);
  const TrainingBatch data = s.data->next(global, s.generator);
  // A class-conditional flow sees every label: it has no null class to drop them to.
  const torch::Tensor labels =
      data.labels.defined() ? local_rows(data.labels.to(s.device), rank, batch) : torch::Tensor();
  return flow_loss(local_rows(data.x1.to(s.device), rank, batch), labels);
}

Trainer::VelocityBatch Trainer::velocity_batch() {
  State& s = *state_;
  const std::int64_t batch = s.config.batch_size;
  // Every rank draws the whole global batch, in the single-process order, and keeps its rows.
  const std::int64_t rank = s.distributed ? s.distributed->rank() : 0;
  const std::int64_t global = batch * (s.distributed ? s.distributed->world_size() : 1);
  // Target before source: the order GCC gave the two draws when they were arguments of one call,
  // kept so that seeds from before data parallelism give the same runs.
  TrainingBatch data = s.data->next(global, s.generator);
  const torch::Tensor x1 = data.x1.to(s.device);
  torch::Tensor x0;
  if (data.x0.defined()) {
    x0 = data.x0.to(s.device);
    if (s.config.source_noise > 0) {
      // Drawn only when asked for, so that runs without it keep their random streams.
      x0 = x0 + s.config.source_noise * path_noise(data.x0, s.generator).to(s.device);
    }
  } else if (s.source) {
    x0 = s.source->sample(global, s.generator).to(s.device);
  } else {
    x0 = torch::randn(data.x1.sizes(), s.generator).to(s.device);
  }
  // Guidance: a share of the labels become the null class (-1), and of the condition images
  // all zeros (a flat mid-gray no prompt is drawn as); drawn for the global batch.
  Conditioning cond;
  if (data.labels.defined()) {
    torch::Tensor labels = data.labels;
    if (s.config.label_dropout > 0)
      labels = dropped(labels, torch::rand({global}, s.generator) < s.config.label_dropout, -1);
    cond.labels = local_rows(labels.to(s.device), rank, batch);
  }
  if (data.condition.defined()) {
    torch::Tensor image = data.condition;
    if (s.config.input_dropout > 0)
      image = dropped(image, torch::rand({global}, s.generator) < s.config.input_dropout, 0.0);
    cond.image = local_rows(image.to(s.device), rank, batch);
  }
  const CoupledPairs pairs = s.coupling->pair(
      local_rows(x0, rank, batch), local_rows(x1, rank, batch), torch::Tensor(), s.generator);
  const torch::Tensor t = sample_times(global, s.generator, s.device, s.config.time_skew);
  PathSample sample;
  if (!s.distributed) {
    sample = s.path->sample(pairs.x0, pairs.x1, t, s.generator);
  } else {
    // The path's noise, too, is drawn for the global batch.
    const PathSample whole = s.path->sample(with_local_rows(x0, pairs.x0, rank),
                                            with_local_rows(x1, pairs.x1, rank), t, s.generator);
    sample = PathSample{local_rows(whole.t, rank, batch), local_rows(whole.xt, rank, batch),
                        local_rows(whole.ut, rank, batch)};
  }
  return VelocityBatch{sample.xt, sample.t, sample.ut, cond};
}

torch::Tensor Trainer::velocity_loss(const VelocityBatch& batch, std::int64_t begin,
                                     std::int64_t count) {
  State& s = *state_;
  auto rows = [&](const torch::Tensor& x) { return x.defined() ? x.narrow(0, begin, count) : x; };
  const Conditioning cond{rows(batch.cond.labels), rows(batch.cond.image)};
  torch::Tensor velocity;
  {
    // Autocast is thread-local: set here, on the thread that runs this shard.
    AutocastScope autocast(s.device, s.config.precision);
    velocity = cond.empty() ? s.velocity->forward(rows(batch.xt), rows(batch.t))
                            : s.velocity->forward(rows(batch.xt), rows(batch.t), cond);
  }
  return (velocity.to(torch::kFloat32) - rows(batch.ut)).pow(2).mean();
}

torch::Tensor Trainer::flow_loss(const torch::Tensor& x, const torch::Tensor& labels) {
  State& s = *state_;
  try {
    return -s.flow->log_prob(x, labels).mean();
  } catch (const NonFiniteError& error) {
    throw std::runtime_error(std::string(error.what()) + " at step " + std::to_string(s.step + 1));
  }
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
  for (auto& [name, tensor] : model_tensors(*s.model))
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
  auto global_rng = tensors.find("rng.global");
  if (global_rng != tensors.end()) {  // checkpoints from before it was saved lack it
    try {
      global_cpu_generator().set_state(global_rng->second);
    } catch (const std::exception& error) {
      throw FileError("[load_state] " + source + ": bad global generator state");
    }
  }
  s.data->load_state(tensors, source);
  s.step = step;
}

VelocityModelPtr Trainer::averaged_model() const {
  auto velocity = std::dynamic_pointer_cast<VelocityModel>(averaged_module());
  if (!velocity)
    throw std::logic_error("[Trainer::averaged_model] the model is not a velocity network");
  return velocity;
}

std::shared_ptr<torch::nn::Module> Trainer::averaged_module() const {
  std::shared_ptr<torch::nn::Module> averaged;
  {
    // Building draws initial weights from the global generator, which dropout also draws from.
    GlobalGeneratorRestorer restore;
    averaged = build_any_model(state_->config);
  }
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

  auto write_checkpoint = [&] {
    if (!is_main) return;
    log.flush();
    save_checkpoint(options.out_dir, trainer.state(), config, trainer.steps_done());
    save_model_dir(options.out_dir, *trainer.averaged_module(), config, trainer.steps_done());
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
      std::shared_ptr<torch::nn::Module> averaged = trainer.averaged_module();
      averaged->to(device);
      ensure_directory(options.out_dir + "/samples");
      write_png(preview_path(options.out_dir, step), preview_picture(*averaged, config, device));
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
