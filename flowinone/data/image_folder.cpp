#include "flowinone/data/image_folder.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "flowinone/core/errors.h"
#include "flowinone/data/image_files.h"

namespace fs = std::filesystem;

namespace fi {

void check_image_options(const char* op, int size, int channels) {
  check_arg(size >= 1 && size <= 4096, "[", op, "] size must be in 1..4096, got ", size);
  check_arg(channels == 1 || channels == 3, "[", op, "] channels must be 1 or 3, got ", channels);
}

ImageFolderDataset::ImageFolderDataset(const std::string& root, ImageFolderOptions options)
    : options_(options) {
  check_image_options("ImageFolderDataset", options.size, options.channels);
  std::error_code error;
  check_file(fs::is_directory(root, error), "[ImageFolderDataset] ", root, ": not a directory");
  std::vector<std::string> class_dirs;
  fs::directory_iterator it(root, error);
  check_file(!error, "[ImageFolderDataset] ", root, ": cannot list: ", error.message());
  for (; it != fs::directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] != '.' && fs::is_directory(it->path(), error)) {
      class_dirs.push_back(name);
    }
  }
  check_file(!error, "[ImageFolderDataset] ", root, ": cannot list: ", error.message());
  std::sort(class_dirs.begin(), class_dirs.end());

  if (class_dirs.empty()) {
    files_ = list_image_files(root, options.strict, &warnings_);
    labels_.assign(files_.size(), -1);
  } else {
    // Pictures beside the class folders belong to no class.
    std::vector<std::string> root_warnings;
    for (const std::string& stray : list_image_files(root, options.strict, &root_warnings)) {
      check_file(!options.strict, "[ImageFolderDataset] ", stray,
                 ": outside the class folders (strict mode refuses it)");
      warnings_.push_back(stray + ": outside the class folders, skipped");
    }
    warnings_.insert(warnings_.end(), root_warnings.begin(), root_warnings.end());
    for (std::size_t label = 0; label < class_dirs.size(); ++label) {
      const std::string dir = root + "/" + class_dirs[label];
      const std::vector<std::string> files = list_image_files(dir, options.strict, &warnings_);
      if (files.empty()) warnings_.push_back(dir + ": class folder without pictures");
      files_.insert(files_.end(), files.begin(), files.end());
      labels_.insert(labels_.end(), files.size(), std::int64_t(label));
    }
    class_names_ = class_dirs;
  }
  check_file(!files_.empty(), "[ImageFolderDataset] ", root, ": no PNG or JPEG pictures found");
}

ImageExample ImageFolderDataset::get(std::int64_t index) const {
  if (index < 0 || index >= size()) {
    throw std::out_of_range("[ImageFolderDataset] index " + std::to_string(index) +
                            " outside [0, " + std::to_string(size()) + ")");
  }
  ImageExample example;
  example.image = load_image_tensor(files_[index], options_.size, options_.channels);
  example.label = labels_[index];
  return example;
}

}  // namespace fi
