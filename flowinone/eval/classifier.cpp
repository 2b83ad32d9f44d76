#include "flowinone/eval/classifier.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/io/safetensors.h"
#include "flowinone/train/adamw.h"
#include "flowinone/train/lr_schedule.h"

namespace fi {

namespace {

constexpr const char* kFormat = "flowinone-classifier-1";
constexpr const char* kFileName = "classifier.safetensors";

nlohmann::json options_to_json(const ClassifierOptions& o) {
  return {{"in_channels", o.in_channels}, {"image_size", o.image_size},
          {"channels", o.channels},       {"convs_per_block", o.convs_per_block},
          {"feature_dim", o.feature_dim}, {"num_classes", o.num_classes},
          {"dropout", o.dropout}};
}

ClassifierOptions options_from_json(const nlohmann::json& json) {
  ClassifierOptions o;
  o.in_channels = json.at("in_channels").get<std::int64_t>();
  o.image_size = json.at("image_size").get<std::int64_t>();
  o.channels = json.at("channels").get<std::vector<std::int64_t>>();
  o.convs_per_block = json.at("convs_per_block").get<int>();
  o.feature_dim = json.at("feature_dim").get<std::int64_t>();
  o.num_classes = json.at("num_classes").get<std::int64_t>();
  o.dropout = json.at("dropout").get<double>();
  return o;
}

std::int64_t pooled_size(const ClassifierOptions& o) {
  std::int64_t size = o.image_size;
  for (std::size_t i = 0; i < o.channels.size(); ++i) size /= 2;
  return size;
}

void check_images(const ClassifierOptions& o, const torch::Tensor& images, const char* what) {
  check_arg(images.defined() && images.dim() == 4 && images.size(1) == o.in_channels &&
                images.size(2) == o.image_size && images.size(3) == o.image_size,
            "[classifier] ", what, " must be (N, ", o.in_channels, ", ", o.image_size, ", ",
            o.image_size, "), got ", images.defined() ? images.sizes() : torch::IntArrayRef{});
  check_arg(images.is_floating_point(), "[classifier] ", what,
            " must be floating (in [-1, 1]), got ", images.scalar_type());
}

void check_labels(const ClassifierOptions& o, const torch::Tensor& labels,
                  const torch::Tensor& images, const char* what) {
  check_arg(labels.defined() && labels.dim() == 1 && labels.size(0) == images.size(0),
            "[classifier] ", what, " labels must be (", images.size(0), "), got ",
            labels.defined() ? labels.sizes() : torch::IntArrayRef{});
  check_arg(labels.scalar_type() == torch::kInt64, "[classifier] ", what,
            " labels must be int64, got ", labels.scalar_type());
  if (labels.numel() > 0) {
    const auto low = labels.min().item<std::int64_t>(), high = labels.max().item<std::int64_t>();
    check_arg(low >= 0 && high < o.num_classes, "[classifier] ", what, " labels must be in [0, ",
              o.num_classes, "), got values in [", low, ", ", high, "]");
  }
}

c10::Device device_of(torch::nn::Module& model) {
  const auto parameters = model.parameters();
  return parameters.empty() ? c10::Device(c10::kCPU) : parameters[0].device();
}

// Applies `fn` to consecutive batches of images (moved to the model's device) under no-grad and
// eval mode, concatenating the results.
template <typename Fn>
torch::Tensor map_batches(ImageClassifier& model, const torch::Tensor& images,
                          std::int64_t batch_size, Fn fn) {
  check_images(model.options(), images, "images");
  check_arg(batch_size >= 1, "[classifier] batch_size must be >= 1, got ", batch_size);
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const c10::Device device = device_of(model);
  std::vector<torch::Tensor> outputs;
  for (std::int64_t begin = 0; begin < images.size(0); begin += batch_size) {
    const auto batch =
        images.slice(0, begin, std::min(begin + batch_size, images.size(0))).to(device);
    outputs.push_back(fn(batch.to(torch::kFloat32)));
  }
  model.train(was_training);
  check_arg(!outputs.empty(), "[classifier] no images");
  return torch::cat(outputs);
}

}  // namespace

void validate_classifier_options(const ClassifierOptions& o) {
  check_arg(o.in_channels >= 1, "[classifier] in_channels must be >= 1, got ", o.in_channels);
  check_arg(!o.channels.empty() && o.channels.size() <= 6,
            "[classifier] channels must list 1 to 6 blocks, got ", o.channels.size());
  for (const auto c : o.channels) check_arg(c >= 1, "[classifier] channels must be >= 1, got ", c);
  check_arg(o.convs_per_block >= 1 && o.convs_per_block <= 4,
            "[classifier] convs_per_block must be in [1, 4], got ", o.convs_per_block);
  check_arg(o.image_size >= 1 && o.image_size <= 4096, "[classifier] image_size must be in ",
            "[1, 4096], got ", o.image_size);
  check_arg(pooled_size(o) >= 1, "[classifier] image_size ", o.image_size, " is too small for ",
            o.channels.size(), " poolings");
  check_arg(o.feature_dim >= 1, "[classifier] feature_dim must be >= 1, got ", o.feature_dim);
  check_arg(o.num_classes >= 2, "[classifier] num_classes must be >= 2, got ", o.num_classes);
  check_arg(o.dropout >= 0 && o.dropout < 1, "[classifier] dropout must be in [0, 1), got ",
            o.dropout);
}

ImageClassifier::ImageClassifier(const ClassifierOptions& options) : options_(options) {
  validate_classifier_options(options);
  convolutions_ = register_module("convolutions", torch::nn::Sequential());
  std::int64_t in = options.in_channels;
  for (const auto out : options.channels) {
    for (int i = 0; i < options.convs_per_block; ++i) {
      // No conv bias: BatchNorm's shift replaces it.
      convolutions_->push_back(torch::nn::Conv2d(
          torch::nn::Conv2dOptions(i == 0 ? in : out, out, 3).padding(1).bias(false)));
      convolutions_->push_back(torch::nn::BatchNorm2d(out));
      convolutions_->push_back(torch::nn::ReLU());
    }
    convolutions_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
    in = out;
  }
  const std::int64_t size = pooled_size(options);
  feature_layer_ =
      register_module("feature_layer", torch::nn::Linear(in * size * size, options.feature_dim));
  head_ = register_module("head", torch::nn::Linear(options.feature_dim, options.num_classes));
}

torch::Tensor ImageClassifier::features(const torch::Tensor& x) {
  check_images(options_, x, "x");
  return torch::relu(feature_layer_->forward(convolutions_->forward(x).flatten(1)));
}

torch::Tensor ImageClassifier::logits(const torch::Tensor& x) {
  torch::Tensor h = features(x);
  if (options_.dropout > 0) h = torch::dropout(h, options_.dropout, is_training());
  return head_->forward(h);
}

torch::Tensor classifier_features(ImageClassifier& model, const torch::Tensor& images,
                                  std::int64_t batch_size) {
  return map_batches(model, images, batch_size,
                     [&](const torch::Tensor& batch) { return model.features(batch); });
}

torch::Tensor classifier_predictions(ImageClassifier& model, const torch::Tensor& images,
                                     std::int64_t batch_size) {
  return map_batches(model, images, batch_size,
                     [&](const torch::Tensor& batch) { return model.logits(batch).argmax(1); });
}

double classification_accuracy(ImageClassifier& model, const torch::Tensor& images,
                               const torch::Tensor& labels, std::int64_t batch_size) {
  check_labels(model.options(), labels, images, "test");
  const auto predictions = classifier_predictions(model, images, batch_size);
  return predictions.eq(labels.to(predictions.device())).to(torch::kFloat64).mean().item<double>();
}

ClassifierTrainResult train_classifier(
    const ClassifierOptions& model_options, const torch::Tensor& train_images,
    const torch::Tensor& train_labels, const torch::Tensor& test_images,
    const torch::Tensor& test_labels, const ClassifierTrainOptions& options,
    const c10::Device& device, const std::function<void(const ClassifierEpoch&)>& on_epoch) {
  validate_classifier_options(model_options);
  check_arg(options.epochs >= 1, "[train_classifier] epochs must be >= 1, got ", options.epochs);
  check_arg(options.batch_size >= 2, "[train_classifier] batch_size must be >= 2, got ",
            options.batch_size);
  check_arg(options.learning_rate > 0, "[train_classifier] learning_rate must be > 0, got ",
            options.learning_rate);
  check_arg(options.warmup_fraction >= 0 && options.warmup_fraction < 1,
            "[train_classifier] warmup_fraction must be in [0, 1), got ", options.warmup_fraction);
  check_arg(options.weight_decay >= 0, "[train_classifier] weight_decay must be >= 0, got ",
            options.weight_decay);
  check_images(model_options, train_images, "training images");
  check_images(model_options, test_images, "test images");
  check_labels(model_options, train_labels, train_images, "training");
  check_labels(model_options, test_labels, test_images, "test");
  check_arg(train_images.size(0) >= options.batch_size, "[train_classifier] ", train_images.size(0),
            " training images are fewer than one batch of ", options.batch_size);

  const auto start = std::chrono::steady_clock::now();
  seed_global(options.seed);
  at::Generator generator = make_generator(options.seed);
  auto model = std::make_shared<ImageClassifier>(model_options);
  model->to(device);
  // The project's AdamW and schedule, as every model trains with (train/adamw.h, lr_schedule.h).
  const std::vector<torch::Tensor> parameters = model->parameters();
  Adam optimizer(parameters, AdamOptions{0.9, 0.999, 1e-8, options.weight_decay, true});

  const std::int64_t n = train_images.size(0);
  const std::int64_t steps_per_epoch = n / options.batch_size;  // the last partial batch dropped
  const std::int64_t total_steps = steps_per_epoch * options.epochs;
  const LrSchedule schedule{options.learning_rate,
                            static_cast<std::int64_t>(options.warmup_fraction * total_steps),
                            total_steps, /*cosine=*/true, /*min_ratio=*/0.0};

  ClassifierTrainResult result;
  std::int64_t step = 0;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    model->train();
    const torch::Tensor order = torch::randperm(n, generator, torch::kInt64);
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device));
    torch::Tensor correct =
        torch::zeros({}, torch::TensorOptions().device(device).dtype(torch::kInt64));
    for (std::int64_t b = 0; b < steps_per_epoch; ++b, ++step) {
      const auto indices = order.slice(0, b * options.batch_size, (b + 1) * options.batch_size);
      torch::Tensor x = train_images.index_select(0, indices).to(torch::kFloat32);
      if (options.horizontal_flip) {
        const auto flip = (torch::rand({x.size(0)}, generator) < 0.5).view({-1, 1, 1, 1});
        x = torch::where(flip, x.flip({3}), x);
      }
      x = x.to(device);
      const torch::Tensor y = train_labels.index_select(0, indices).to(device);
      const torch::Tensor logits = model->logits(x);
      const torch::Tensor loss = torch::cross_entropy_loss(logits, y);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step(schedule.at(step));
      loss_sum += loss.detach();
      correct += logits.detach().argmax(1).eq(y).sum();
    }
    ClassifierEpoch report;
    report.epoch = epoch;
    report.train_loss = loss_sum.item<double>() / steps_per_epoch;
    report.train_accuracy =
        static_cast<double>(correct.item<std::int64_t>()) / (steps_per_epoch * options.batch_size);
    report.test_accuracy = classification_accuracy(*model, test_images, test_labels);
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.epochs.push_back(report);
    if (on_epoch) on_epoch(report);
  }
  model->eval();
  result.model = model;
  result.test_accuracy = result.epochs.back().test_accuracy;
  result.seconds = result.epochs.back().seconds;
  return result;
}

void save_classifier(const std::string& dir, ImageClassifier& model, double test_accuracy) {
  ensure_directory(dir);
  const NamedTensors tensors = model_tensors(model);
  const std::map<std::string, std::string> metadata = {
      {"format", kFormat},
      {"options", options_to_json(model.options()).dump()},
      {"test_accuracy", nlohmann::json(test_accuracy).dump()}};
  save_safetensors(dir + "/" + kFileName, tensors, metadata);
}

LoadedClassifier load_classifier(const std::string& dir, const c10::Device& device) {
  namespace fs = std::filesystem;
  check_file(fs::is_directory(dir), "[load_classifier] ", dir, ": no such classifier directory");
  const std::string path = dir + "/" + kFileName;
  check_file(fs::exists(path), "[load_classifier] ", dir, ": no ", kFileName,
             " in it (train one with `flowinone train-classifier --out ", dir, "`)");
  SafetensorsContents contents = load_safetensors(path);
  auto format = contents.metadata.find("format");
  check_file(format != contents.metadata.end() && format->second == kFormat, "[load_classifier] ",
             path, ": not a flowinone classifier (metadata format is not ", kFormat, ")");
  LoadedClassifier loaded;
  ClassifierOptions options;
  try {
    options = options_from_json(nlohmann::json::parse(contents.metadata.at("options")));
    validate_classifier_options(options);
    auto accuracy = contents.metadata.find("test_accuracy");
    if (accuracy != contents.metadata.end()) {
      loaded.test_accuracy = nlohmann::json::parse(accuracy->second).get<double>();
    }
  } catch (const std::exception& error) {
    throw FileError("[load_classifier] " + path + ": bad metadata: " + error.what());
  }
  // Bound the model before building it: a hostile file could ask for a huge network.
  std::int64_t widest = 0;
  for (const auto c : options.channels) widest = std::max(widest, c);
  check_file(widest <= 4096 && options.feature_dim <= 65536 && options.num_classes <= 100000 &&
                 options.in_channels <= 64 && options.image_size <= 1024,
             "[load_classifier] ", path, ": options describe an implausibly large network");
  loaded.model = std::make_shared<ImageClassifier>(options);
  load_model_tensors(*loaded.model, contents.tensors, "", path);
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

}  // namespace fi
