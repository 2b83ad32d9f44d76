// flowinone train-classifier: train the small CNN behind the image metrics (FID features, class
// accuracy) on Fashion-MNIST and save it as a classifier directory for `eval --classifier`.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/runtime.h"
#include "flowinone/data/fashion_mnist.h"
#include "flowinone/data/pixels.h"
#include "flowinone/eval/classifier.h"

namespace fi::cli {

namespace {

struct TrainClassifierFlags {
  std::string out;
  std::string data = kFashionMnistDir;
  ClassifierTrainOptions train;
  std::int64_t seed = 0;
  std::string device = "auto";
  bool json = false;
};

void run_train_classifier(const TrainClassifierFlags& flags) {
  const c10::Device device = parse_device(flags.device);
  const ImageSet train = load_fashion_mnist(Split::kTrain, flags.data);
  const ImageSet test = load_fashion_mnist(Split::kTest, flags.data);
  ClassifierTrainOptions options = flags.train;
  options.seed = static_cast<std::uint64_t>(flags.seed);
  const ClassifierOptions model_options;
  const auto report = [&](const ClassifierEpoch& epoch) {
    std::cerr << "epoch " << epoch.epoch << "/" << options.epochs << std::fixed
              << std::setprecision(4) << "  loss " << epoch.train_loss << "  train acc "
              << epoch.train_accuracy << "  test acc " << epoch.test_accuracy
              << std::setprecision(1) << "  " << epoch.seconds << " s" << std::endl;
  };
  const ClassifierTrainResult result =
      train_classifier(model_options, pixels_to_unit_range(train.images), train.labels,
                       pixels_to_unit_range(test.images), test.labels, options, device, report);
  save_classifier(flags.out, *result.model, result.test_accuracy);

  std::int64_t parameters = 0;
  for (const auto& p : result.model->parameters()) parameters += p.numel();
  const nlohmann::json json = {{"test_accuracy", result.test_accuracy},
                               {"seconds", result.seconds},
                               {"epochs", options.epochs},
                               {"seed", flags.seed},
                               {"parameters", parameters},
                               {"feature_dim", model_options.feature_dim},
                               {"device", device.str()},
                               {"out", flags.out}};
  std::cout << (flags.json ? json.dump() : json.dump(2)) << std::endl;
}

}  // namespace

Command add_train_classifier_command(CLI::App& parent) {
  auto flags = std::make_shared<TrainClassifierFlags>();
  CLI::App* app = parent.add_subcommand(
      "train-classifier", "train the Fashion-MNIST classifier used by the image metrics");
  app->add_option("--out", flags->out, "classifier directory to write")->required();
  app->add_option("--data", flags->data, "directory with the Fashion-MNIST IDX files")
      ->capture_default_str();
  app->add_option("--epochs", flags->train.epochs, "passes over the training set")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app->add_option("--batch-size", flags->train.batch_size, "batch size")
      ->check(CLI::Range(2, 65536))
      ->capture_default_str();
  app->add_option("--lr", flags->train.learning_rate, "peak learning rate (AdamW, one-cycle)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app->add_option("--seed", flags->seed, "seed of the weights, batch order and augmentation")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_option("--device", flags->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] {
            run_train_classifier(*flags);
            return 0;
          }};
}

}  // namespace fi::cli
