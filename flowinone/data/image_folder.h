// A folder of pictures as a dataset: root/CLASS/*.png|jpg (labelled, one class per sub-folder) or
// root/*.png|jpg (unlabelled, label -1).
//
// Classes are the sub-folder names sorted by name, so labels do not depend on the order the file
// system lists them in; files are sorted by name inside each class. Every picture comes out as
// (channels, size, size) float32 in [-1, 1]: converted to gray or RGB, the shorter side resized
// to `size` (area averaging when shrinking, bilinear when enlarging), the centre square kept.
// Random horizontal flips are the loader's business (seeded per epoch), not the dataset's.
// Non-image files are skipped and listed in warnings(), or refused when `strict` is set.
#pragma once

#include <string>
#include <vector>

#include "flowinone/data/image_dataset.h"

namespace fi {

struct ImageFolderOptions {
  int size = 64;        // side of the square output pictures, 1..4096
  int channels = 3;     // 1 (gray) or 3 (RGB)
  bool strict = false;  // a non-image file is a FileError rather than a warning
};

class ImageFolderDataset : public ImageDataset {
 public:
  /// Scans `root` (reading the first bytes of each file, decoding none). Throws
  /// std::invalid_argument for bad options, FileError when `root` is not a folder, holds no
  /// pictures, or (strict) holds a non-image file.
  explicit ImageFolderDataset(const std::string& root, ImageFolderOptions options = {});

  std::int64_t size() const override { return std::int64_t(files_.size()); }
  /// Decodes and transforms picture `index`; FileError naming the file when it is malformed.
  ImageExample get(std::int64_t index) const override;
  int num_classes() const override { return int(class_names_.size()); }
  std::vector<std::string> class_names() const override { return class_names_; }
  int channels() const override { return options_.channels; }
  int height() const override { return options_.size; }
  int width() const override { return options_.size; }

  /// The path of each example, in index order.
  const std::vector<std::string>& files() const { return files_; }
  /// The label of each example, in index order (-1 when unlabelled).
  const std::vector<std::int64_t>& labels() const { return labels_; }
  /// One line per file that was skipped (non-image files, files outside the class folders) or
  /// class folder without pictures.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  ImageFolderOptions options_;
  std::vector<std::string> files_;
  std::vector<std::int64_t> labels_;
  std::vector<std::string> class_names_;
  std::vector<std::string> warnings_;
};

/// Checks size (1..4096) and channels (1 or 3); throws std::invalid_argument naming `op`.
void check_image_options(const char* op, int size, int channels);

}  // namespace fi
