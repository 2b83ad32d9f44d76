// The background loader: seeded order, ordering independent of worker timing, resuming from a
// saved position, flips, worker errors surfacing in the consumer, and a clean shutdown.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "flowinone/core/errors.h"
#include "flowinone/data/image_dataset.h"
#include "flowinone/data/loader.h"

namespace {

// Example i is a 1 x 1 x 4 picture (i, i + 1, i + 2, i + 3) labelled i. Items take a little
// time, varying with the index so that workers finish out of order; one index can be made to fail.
class IndexDataset : public fi::ImageDataset {
 public:
  explicit IndexDataset(std::int64_t n, std::int64_t failing = -1) : n_(n), failing_(failing) {}
  std::int64_t size() const override { return n_; }
  fi::ImageExample get(std::int64_t index) const override {
    std::this_thread::sleep_for(std::chrono::microseconds((index * 37) % 200));
    if (index == failing_) throw fi::FileError("[IndexDataset] example " + std::to_string(index));
    fi::ImageExample example;
    example.image = torch::arange(4, torch::kFloat32).add(double(index)).reshape({1, 1, 4});
    example.label = index;
    return example;
  }
  int num_classes() const override { return int(n_); }
  std::vector<std::string> class_names() const override {
    return std::vector<std::string>(n_, "c");
  }
  int channels() const override { return 1; }
  int height() const override { return 1; }
  int width() const override { return 4; }

 private:
  std::int64_t n_;
  std::int64_t failing_;
};

std::vector<std::int64_t> labels_of(const fi::LoaderBatch& batch) {
  return {batch.labels.data_ptr<std::int64_t>(),
          batch.labels.data_ptr<std::int64_t>() + batch.labels.numel()};
}

// The labels of the next `count` batches, flattened.
std::vector<std::int64_t> take(fi::DataLoader& loader, int count) {
  std::vector<std::int64_t> labels;
  for (int i = 0; i < count; ++i) {
    const auto batch = labels_of(loader.next());
    labels.insert(labels.end(), batch.begin(), batch.end());
  }
  return labels;
}

fi::LoaderOptions options_with(std::uint64_t seed, int num_workers) {
  fi::LoaderOptions options;
  options.batch_size = 5;
  options.num_workers = num_workers;
  options.prefetch = 3;
  options.seed = seed;
  return options;
}

}  // namespace

TEST(Loader, OrderIsASeededPermutationPerEpochWhateverTheWorkers) {
  auto dataset = std::make_shared<IndexDataset>(40);
  fi::DataLoader inline_loader(dataset, options_with(7, 0));
  fi::DataLoader threaded(dataset, options_with(7, 3));
  fi::DataLoader other_seed(dataset, options_with(8, 2));
  ASSERT_EQ(threaded.batches_per_epoch(), 8);
  const std::vector<std::int64_t> a = take(inline_loader, 24);  // three epochs
  const std::vector<std::int64_t> b = take(threaded, 24);
  const std::vector<std::int64_t> c = take(other_seed, 24);
  EXPECT_EQ(a, b);  // worker timing does not change the order
  EXPECT_NE(a, c);
  for (int epoch = 0; epoch < 3; ++epoch) {
    const std::vector<std::int64_t> seen(a.begin() + epoch * 40, a.begin() + (epoch + 1) * 40);
    EXPECT_EQ(std::set<std::int64_t>(seen.begin(), seen.end()).size(), 40u) << epoch;
    EXPECT_EQ(seen, threaded.epoch_order(epoch)) << epoch;
  }
  // Epochs differ from each other, and the images match the labels.
  EXPECT_NE(threaded.epoch_order(0), threaded.epoch_order(1));
  const fi::LoaderBatch batch = threaded.next();
  EXPECT_EQ(batch.position, (fi::LoaderPosition{3, 0}));
  EXPECT_TRUE(torch::equal(batch.images.select(3, 0).flatten(), batch.labels.to(torch::kFloat32)));
}

TEST(Loader, ResumingFromASavedPositionGivesTheSameFollowingBatches) {
  auto dataset = std::make_shared<IndexDataset>(23);  // 4 batches of 5 per epoch, 3 dropped
  fi::DataLoader uninterrupted(dataset, options_with(11, 2));
  const std::vector<std::int64_t> whole = take(uninterrupted, 13);

  fi::LoaderPosition saved;
  {
    fi::DataLoader first(dataset, options_with(11, 2));
    take(first, 6);
    saved = first.position();
    // Destroyed with batches still queued and workers waiting for space.
  }
  EXPECT_EQ(saved, (fi::LoaderPosition{1, 2}));
  fi::DataLoader resumed(dataset, options_with(11, 3), saved);
  EXPECT_EQ(resumed.position(), saved);
  const std::vector<std::int64_t> rest = take(resumed, 7);
  EXPECT_EQ(rest, std::vector<std::int64_t>(whole.begin() + 6 * 5, whole.end()));
  EXPECT_EQ(resumed.position(), (fi::LoaderPosition{3, 1}));
}

TEST(Loader, KeepLastAndUnshuffled) {
  auto dataset = std::make_shared<IndexDataset>(12);
  fi::LoaderOptions options = options_with(1, 2);
  options.shuffle = false;
  options.drop_last = false;
  fi::DataLoader loader(dataset, options);
  ASSERT_EQ(loader.batches_per_epoch(), 3);
  EXPECT_EQ(labels_of(loader.next()), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  loader.next();
  EXPECT_EQ(labels_of(loader.next()), (std::vector<std::int64_t>{10, 11}));
  EXPECT_EQ(labels_of(loader.next())[0], 0);

  options.batch_size = 13;
  options.drop_last = true;
  EXPECT_THROW(fi::DataLoader(dataset, options), std::invalid_argument);
  EXPECT_THROW(fi::DataLoader(dataset, options_with(1, 2), {0, 2}), std::invalid_argument);
  EXPECT_THROW(fi::DataLoader(nullptr, options_with(1, 2)), std::invalid_argument);
}

TEST(Loader, FlipsAreSeededAndMirrorTheImage) {
  auto dataset = std::make_shared<IndexDataset>(200);
  fi::LoaderOptions options = options_with(3, 2);
  options.batch_size = 50;
  options.random_flip = true;
  fi::DataLoader loader(dataset, options);
  fi::DataLoader twin(dataset, options);
  std::int64_t flipped = 0;
  for (int b = 0; b < 4; ++b) {
    const fi::LoaderBatch batch = loader.next();
    EXPECT_TRUE(torch::equal(batch.images, twin.next().images));
    const torch::Tensor first = batch.images.select(3, 0).flatten();
    const torch::Tensor last = batch.images.select(3, 3).flatten();
    const torch::Tensor label = batch.labels.to(torch::kFloat32);
    // Each row is either (i .. i + 3) or its mirror (i + 3 .. i).
    const torch::Tensor mirrored = first.eq(label + 3) & last.eq(label);
    const torch::Tensor straight = first.eq(label) & last.eq(label + 3);
    EXPECT_TRUE((mirrored | straight).all().item<bool>());
    flipped += mirrored.sum().item<std::int64_t>();
  }
  // 200 fair coins: 100 +- 5 sigma.
  EXPECT_GT(flipped, 65);
  EXPECT_LT(flipped, 135);
}

TEST(Loader, AWorkerErrorSurfacesAtItsBatch) {
  const std::int64_t failing = 13;
  auto dataset = std::make_shared<IndexDataset>(40, failing);
  for (int num_workers : {0, 3}) {
    fi::DataLoader loader(dataset, options_with(5, num_workers));
    const std::vector<std::int64_t> order = loader.epoch_order(0);
    const std::int64_t bad_batch =
        (std::find(order.begin(), order.end(), failing) - order.begin()) / 5;
    for (std::int64_t b = 0; b < bad_batch; ++b) loader.next();
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        loader.next();
        FAIL() << "no error from the failing example";
      } catch (const fi::FileError& e) {
        EXPECT_NE(std::string(e.what()).find("example 13"), std::string::npos) << e.what();
      }
      EXPECT_EQ(loader.position(), (fi::LoaderPosition{0, bad_batch}));
    }
  }  // destructors join the workers, which wait for space that never comes
}

TEST(Loader, InMemoryDatasetGathersPixelsInUnitRange) {
  fi::ImageSet set;
  set.images = torch::arange(6 * 2 * 3 * 3, torch::kInt64)
                   .remainder(256)
                   .to(torch::kUInt8)
                   .reshape({6, 2, 3, 3});
  set.labels = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64);
  auto dataset =
      std::make_shared<fi::InMemoryImageDataset>(set, std::vector<std::string>{"a", "b", "c"});
  fi::LoaderOptions options = options_with(2, 1);
  options.batch_size = 4;
  options.random_flip = true;
  fi::DataLoader loader(dataset, options);
  const fi::LoaderBatch batch = loader.next();
  ASSERT_EQ(batch.images.sizes(), (std::vector<std::int64_t>{4, 2, 3, 3}));
  const std::vector<std::int64_t> order = loader.epoch_order(0);
  for (int i = 0; i < 4; ++i) {
    const torch::Tensor expected = set.images[order[i]].to(torch::kFloat32) / 127.5 - 1;
    const torch::Tensor got = batch.images[i];
    EXPECT_TRUE(torch::allclose(got, expected) || torch::allclose(got, expected.flip({2}))) << i;
    EXPECT_EQ(batch.labels[i].item<std::int64_t>(), set.labels[order[i]].item<std::int64_t>());
  }
  EXPECT_THROW(fi::InMemoryImageDataset(set, {"a", "b"}), std::invalid_argument);
}
