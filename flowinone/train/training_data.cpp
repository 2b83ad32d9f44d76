#include "flowinone/train/training_data.h"

#include "flowinone/core/errors.h"
#include "flowinone/data/image_folder.h"
#include "flowinone/data/loader.h"
#include "flowinone/data/paired_folder.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/prompts/prompt_task.h"

namespace fi {

namespace {

class Toy2dTrainingData : public TrainingData {
 public:
  explicit Toy2dTrainingData(const RunConfig& config) : target_(make_toy2d(config.target)) {}

  TrainingBatch next(std::int64_t size, at::Generator& generator) override {
    return {target_->sample(size, generator)};
  }
  TrainingBatch initialization_batch(std::int64_t size, at::Generator& generator) override {
    return {target_->sample(size, generator)};
  }

 private:
  std::unique_ptr<Toy2dDataset> target_;
};

// A data set read through the background loader. The loader is rebuilt at the checkpoint's
// position on resume.
class LoadedTrainingData : public TrainingData {
 public:
  LoadedTrainingData(const RunConfig& config, std::shared_ptr<const ImageDataset> dataset,
                     std::int64_t batch_size)
      : config_(config), dataset_(std::move(dataset)), batch_size_(batch_size) {
    check_arg(dataset_->size() >= batch_size, "[train] the data set has ", dataset_->size(),
              " examples, fewer than one batch of ", batch_size,
              ": lower batch_size (per rank, times ranks and accum)");
    if (config.num_classes > 0) {
      check_arg(dataset_->num_classes() == config.num_classes, "[train] num_classes is ",
                config.num_classes, " but the data set has ", dataset_->num_classes(), " classes");
    }
    start({});
  }

  TrainingBatch next(std::int64_t size, at::Generator&) override {
    check_arg(size == batch_size_, "[train] batch of ", size, " asked of a loader of ",
              batch_size_);
    LoaderBatch batch = loader_->next();
    TrainingBatch out;
    if (batch.targets.defined()) {  // image pairs: A is the condition, B the output
      out.x1 = batch.targets;
      out.condition = batch.images;
      if (config_.source == "input") out.x0 = batch.images;
    } else {
      out.x1 = batch.images;
      if (config_.num_classes > 0) out.labels = batch.labels;
    }
    return out;
  }

  TrainingBatch initialization_batch(std::int64_t size, at::Generator& generator) override {
    const torch::Tensor order =
        torch::randperm(dataset_->size(), generator, torch::TensorOptions().dtype(torch::kInt64))
            .narrow(0, 0, std::min(size, dataset_->size()));
    std::vector<std::int64_t> indices(order.data_ptr<std::int64_t>(),
                                      order.data_ptr<std::int64_t>() + order.numel());
    ImageBatch batch = dataset_->get_batch(indices);
    if (batch.targets.defined()) return {batch.targets, {}, batch.images};
    return {batch.images, config_.num_classes > 0 ? batch.labels : torch::Tensor()};
  }

  NamedTensors state() const override {
    const LoaderPosition position = loader_->position();
    return {{"data.position", torch::tensor({position.epoch, position.batch}, torch::kInt64)}};
  }

  void load_state(const std::map<std::string, torch::Tensor>& tensors,
                  const std::string& source) override {
    auto found = tensors.find("data.position");
    check_file(found != tensors.end(), "[load_state] ", source,
               ": lacks the data loader's position (data.position)");
    const torch::Tensor& position = found->second;
    check_file(
        position.scalar_type() == torch::kInt64 && position.dim() == 1 && position.size(0) == 2,
        "[load_state] ", source, ": data.position must be two int64 values");
    const torch::Tensor cpu = position.cpu();
    const LoaderPosition at{cpu[0].item<std::int64_t>(), cpu[1].item<std::int64_t>()};
    check_file(at.epoch >= 0 && at.batch >= 0, "[load_state] ", source, ": negative data position");
    try {
      start(at);
    } catch (const std::invalid_argument& error) {
      throw FileError("[load_state] " + source + ": data position does not fit this data (" +
                      error.what() + ")");
    }
  }

 private:
  void start(LoaderPosition position) {
    loader_.reset();  // join the old workers before starting new ones
    LoaderOptions options;
    options.batch_size = batch_size_;
    options.num_workers = static_cast<int>(config_.num_workers);
    options.seed = static_cast<std::uint64_t>(config_.seed);
    options.random_flip = config_.random_flip != 0;
    loader_ = std::make_unique<DataLoader>(dataset_, options, position);
  }

  RunConfig config_;
  std::shared_ptr<const ImageDataset> dataset_;
  std::int64_t batch_size_;
  std::unique_ptr<DataLoader> loader_;
};

class VisPromptTrainingData : public TrainingData {
 public:
  explicit VisPromptTrainingData(const RunConfig& config)
      : bridge_(config.source == "input"), items_(open_prompt_items(config, Split::kTrain)) {
    options_.size = static_cast<int>(data_shape(config)[1]);
  }

  TrainingBatch next(std::int64_t size, at::Generator& generator) override {
    PromptBatch batch = make_prompt_batch(*items_, size, draw_seed(generator), options_);
    TrainingBatch out;
    out.x1 = batch.outputs;
    out.condition = batch.inputs;
    if (bridge_) out.x0 = batch.inputs;
    return out;
  }

  TrainingBatch initialization_batch(std::int64_t size, at::Generator& generator) override {
    PromptBatch batch = make_prompt_batch(*items_, size, draw_seed(generator), options_);
    return {batch.outputs, {}, batch.inputs};
  }

 private:
  static std::uint64_t draw_seed(at::Generator& generator) {
    return static_cast<std::uint64_t>(
        torch::randint(0, std::int64_t(1) << 62, {1}, generator, torch::kInt64)
            .item<std::int64_t>());
  }

  bool bridge_;
  std::unique_ptr<ItemSource> items_;
  PromptOptions options_;
};

std::string fashion_mnist_dir(const RunConfig& config) {
  return config.data_dir.empty() ? std::string(kFashionMnistDir) : config.data_dir;
}

}  // namespace

std::shared_ptr<const ImageDataset> open_image_dataset(const RunConfig& config, Split split) {
  const std::vector<std::int64_t> shape = data_shape(config);
  switch (data_kind(config)) {
    case DataKind::kFashionMnist:
      return std::make_shared<InMemoryImageDataset>(
          fashion_mnist_dataset(split, fashion_mnist_dir(config)));
    case DataKind::kFolder: {
      ImageFolderOptions options;
      options.size = static_cast<int>(shape[1]);
      options.channels = static_cast<int>(shape[0]);
      return std::make_shared<ImageFolderDataset>(config.data_dir, options);
    }
    case DataKind::kPairs: {
      PairedFolderOptions options;
      options.size = static_cast<int>(shape[1]);
      options.input_channels = static_cast<int>(shape[0]);
      options.target_channels = static_cast<int>(shape[0]);
      return std::make_shared<PairedFolderDataset>(config.data_dir, options);
    }
    default:
      throw std::invalid_argument("[open_image_dataset] target '" + config.target +
                                  "' is not an image data set read from files");
  }
}

std::unique_ptr<ItemSource> open_prompt_items(const RunConfig& config, Split split) {
  if (config.data_dir == "synthetic") return std::make_unique<SyntheticItems>(200);
  return std::make_unique<FashionMnistItems>(split, fashion_mnist_dir(config));
}

std::unique_ptr<TrainingData> make_training_data(const RunConfig& config, std::int64_t batch_size) {
  switch (data_kind(config)) {
    case DataKind::kToy2d:
      return std::make_unique<Toy2dTrainingData>(config);
    case DataKind::kVisPrompt:
      return std::make_unique<VisPromptTrainingData>(config);
    default:
      return std::make_unique<LoadedTrainingData>(config, open_image_dataset(config, Split::kTrain),
                                                  batch_size);
  }
}

}  // namespace fi
