#include <gtest/gtest.h>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/eval/classifier.h"
#include "flowinone/io/safetensors.h"
#include "temp_dir.h"

namespace {

fi::ClassifierOptions tiny_options() {
  fi::ClassifierOptions options;
  options.channels = {4, 8};
  options.feature_dim = 16;
  options.num_classes = 4;
  return options;
}

// Images in [-1, 1] whose class is the quadrant that is bright, plus noise.
void quadrant_images(std::int64_t n, at::Generator& generator, torch::Tensor& images,
                     torch::Tensor& labels) {
  labels = torch::randint(0, 4, {n}, generator, torch::kInt64);
  auto quadrants = torch::full({4, 1, 28, 28}, -0.8f);
  for (int q = 0; q < 4; ++q) {
    quadrants[q]
        .slice(1, (q / 2) * 14, (q / 2) * 14 + 14)
        .slice(2, (q % 2) * 14, (q % 2) * 14 + 14)
        .fill_(0.8f);
  }
  images = quadrants.index_select(0, labels);
  images = (images + 0.3 * torch::randn(images.sizes(), generator)).clamp(-1, 1);
}

}  // namespace

TEST(Classifier, FeatureAndLogitShapes) {
  torch::manual_seed(0);
  fi::ImageClassifier model(tiny_options());
  const auto x = torch::rand({5, 1, 28, 28}) * 2 - 1;
  EXPECT_EQ(model.features(x).sizes(), (std::vector<std::int64_t>{5, 16}));
  EXPECT_EQ(model.logits(x).sizes(), (std::vector<std::int64_t>{5, 4}));
  EXPECT_GE(model.features(x).min().item<float>(), 0.0f);  // after the ReLU
  // Batched helpers agree with one big batch in eval mode.
  model.eval();
  EXPECT_TRUE(torch::allclose(fi::classifier_features(model, x, 2), model.features(x), 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(fi::classifier_predictions(model, x, 3), model.logits(x).argmax(1)));
  EXPECT_THROW(model.features(torch::rand({2, 1, 32, 32})), std::invalid_argument);
  EXPECT_THROW(model.features(torch::rand({2, 3, 28, 28})), std::invalid_argument);
  fi::ClassifierOptions bad = tiny_options();
  bad.channels = {4, 8, 8, 8, 8};  // 28 pooled five times is 0
  EXPECT_THROW(fi::ImageClassifier{bad}, std::invalid_argument);
}

TEST(Classifier, TrainingLearnsASimpleTask) {
  at::Generator generator = fi::make_generator(7);
  torch::Tensor train_x, train_y, test_x, test_y;
  quadrant_images(256, generator, train_x, train_y);
  quadrant_images(128, generator, test_x, test_y);
  fi::ClassifierTrainOptions options;
  options.epochs = 3;
  options.batch_size = 32;
  options.learning_rate = 1e-2;
  options.seed = 3;
  options.horizontal_flip = false;  // a mirror swaps the left and right quadrants' classes
  int calls = 0;
  const auto result = fi::train_classifier(
      tiny_options(), train_x, train_y, test_x, test_y, options, c10::Device(c10::kCPU),
      [&](const fi::ClassifierEpoch& epoch) { EXPECT_EQ(epoch.epoch, ++calls); });
  EXPECT_EQ(calls, 3);
  EXPECT_GE(result.test_accuracy, 0.95);
  EXPECT_DOUBLE_EQ(result.test_accuracy,
                   fi::classification_accuracy(*result.model, test_x, test_y));
  // The same seed gives the same model.
  const auto again =
      fi::train_classifier(tiny_options(), train_x, train_y, test_x, test_y, options);
  EXPECT_TRUE(torch::equal(result.model->logits(test_x), again.model->logits(test_x)));

  auto bad_labels = train_y.clone();
  bad_labels[0] = 4;
  EXPECT_THROW(fi::train_classifier(tiny_options(), train_x, bad_labels, test_x, test_y, options),
               std::invalid_argument);
  options.epochs = 0;
  EXPECT_THROW(fi::train_classifier(tiny_options(), train_x, train_y, test_x, test_y, options),
               std::invalid_argument);
}

TEST(Classifier, SaveLoadRoundTripGivesIdenticalLogits) {
  fi::testing::TempDir dir("classifier");
  torch::manual_seed(1);
  fi::ImageClassifier model(tiny_options());
  // One training-mode pass moves the BatchNorm running statistics away from their defaults, so
  // the round trip must carry the buffers too.
  const auto x = torch::rand({8, 1, 28, 28}) * 2 - 1;
  {
    torch::NoGradGuard no_grad;
    model.train();
    model.logits(x);
  }
  model.eval();
  const std::string out = dir.file("clf");
  fi::save_classifier(out, model, 0.875);
  const auto loaded = fi::load_classifier(out);
  EXPECT_DOUBLE_EQ(loaded.test_accuracy, 0.875);
  EXPECT_FALSE(loaded.model->is_training());
  EXPECT_EQ(loaded.model->options().channels, tiny_options().channels);
  EXPECT_TRUE(torch::equal(loaded.model->logits(x), model.logits(x)));
  EXPECT_TRUE(torch::equal(loaded.model->features(x), model.features(x)));
}

TEST(Classifier, LoadRejectsMissingAndMalformedFiles) {
  fi::testing::TempDir dir("classifier_bad");
  EXPECT_THROW(fi::load_classifier(dir.file("absent")), fi::FileError);
  EXPECT_THROW(fi::load_classifier(dir.path()), fi::FileError);  // no classifier.safetensors

  fi::ImageClassifier model(tiny_options());
  fi::save_classifier(dir.path(), model, 0.5);
  auto contents = fi::load_safetensors(dir.file("classifier.safetensors"));

  // A tensor with the wrong shape.
  fi::NamedTensors tensors(contents.tensors.begin(), contents.tensors.end());
  for (auto& [name, tensor] : tensors) {
    if (name == "head.weight") tensor = torch::zeros({3, 16});
  }
  fi::save_safetensors(dir.file("classifier.safetensors"), tensors, contents.metadata);
  EXPECT_THROW(fi::load_classifier(dir.path()), fi::FileError);

  // Another format, and options that are not JSON.
  auto metadata = contents.metadata;
  metadata["format"] = "flowinone-velocity-1";
  fi::save_safetensors(dir.file("classifier.safetensors"),
                       fi::NamedTensors(contents.tensors.begin(), contents.tensors.end()),
                       metadata);
  EXPECT_THROW(fi::load_classifier(dir.path()), fi::FileError);
  metadata = contents.metadata;
  metadata["options"] = "{not json";
  fi::save_safetensors(dir.file("classifier.safetensors"),
                       fi::NamedTensors(contents.tensors.begin(), contents.tensors.end()),
                       metadata);
  EXPECT_THROW(fi::load_classifier(dir.path()), fi::FileError);
  // Options asking for an enormous network are refused before it is built.
  metadata = contents.metadata;
  metadata["options"] =
      R"({"in_channels":1,"image_size":28,"channels":[1000000],"convs_per_block":1,)"
      R"("feature_dim":16,"num_classes":4,"dropout":0.3})";
  fi::save_safetensors(dir.file("classifier.safetensors"),
                       fi::NamedTensors(contents.tensors.begin(), contents.tensors.end()),
                       metadata);
  EXPECT_THROW(fi::load_classifier(dir.path()), fi::FileError);
}
