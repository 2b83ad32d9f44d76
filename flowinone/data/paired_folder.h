// Pairs of pictures for image-to-image training: root/A/NAME.ext is the input, root/B/NAME.ext
// the expected output. Files are matched by name without the extension, so A/cat.png pairs with
// B/cat.jpg. Examples come out in name order: image = the A picture, target = the B picture,
// both (channels, size, size) float32 in [-1, 1], label -1. The loader's random flip mirrors
// both alike.
#pragma once

#include <string>
#include <vector>

#include "flowinone/data/image_dataset.h"

namespace fi {

struct PairedFolderOptions {
  int size = 64;            // side of the square output pictures, 1..4096
  int input_channels = 3;   // channels of A pictures: 1 or 3
  int target_channels = 3;  // channels of B pictures: 1 or 3
  bool strict = false;      // a non-image file is a FileError rather than a warning
};

class PairedFolderDataset : public ImageDataset {
 public:
  /// Scans root/A and root/B. Throws FileError when either is missing, a name appears in only
  /// one of them (the message lists the unmatched names), two files in one folder share a name
  /// without extension, there are no pairs, or (strict) a folder holds a non-image file.
  explicit PairedFolderDataset(const std::string& root, PairedFolderOptions options = {});

  std::int64_t size() const override { return std::int64_t(inputs_.size()); }
  ImageExample get(std::int64_t index) const override;
  int num_classes() const override { return 0; }
  std::vector<std::string> class_names() const override { return {}; }
  int channels() const override { return options_.input_channels; }
  int height() const override { return options_.size; }
  int width() const override { return options_.size; }
  int target_channels() const override { return options_.target_channels; }

  /// Paths of the input (A) and target (B) pictures, in index order.
  const std::vector<std::string>& inputs() const { return inputs_; }
  const std::vector<std::string>& targets() const { return targets_; }
  /// One line per non-image file skipped.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  PairedFolderOptions options_;
  std::vector<std::string> inputs_;
  std::vector<std::string> targets_;
  std::vector<std::string> warnings_;
};

}  // namespace fi
