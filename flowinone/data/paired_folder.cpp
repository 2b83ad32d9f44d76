#include "flowinone/data/paired_folder.h"

#include <filesystem>
#include <map>
#include <stdexcept>

#include "flowinone/core/errors.h"
#include "flowinone/data/image_files.h"
#include "flowinone/data/image_folder.h"

namespace fs = std::filesystem;

namespace fi {
namespace {

constexpr std::size_t kMaxNamesListed = 10;

// Pictures of `dir` by file name without extension; two files with one stem are an error.
std::map<std::string, std::string> pictures_by_stem(const std::string& dir, bool strict,
                                                    std::vector<std::string>* warnings) {
  std::map<std::string, std::string> by_stem;
  for (const std::string& path : list_image_files(dir, strict, warnings)) {
    const std::string stem = fs::path(path).stem().string();
    const auto [it, inserted] = by_stem.emplace(stem, path);
    check_file(inserted, "[PairedFolderDataset] ", dir, ": two pictures named '", stem, "' (",
               fs::path(it->second).filename().string(), " and ",
               fs::path(path).filename().string(), "); pairs are matched by name");
  }
  return by_stem;
}

std::string list_names(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < kMaxNamesListed; ++i) {
    text += (i > 0 ? ", " : "") + names[i];
  }
  if (names.size() > kMaxNamesListed) {
    text += " and " + std::to_string(names.size() - kMaxNamesListed) + " more";
  }
  return text;
}

}  // namespace

PairedFolderDataset::PairedFolderDataset(const std::string& root, PairedFolderOptions options)
    : options_(options) {
  check_image_options("PairedFolderDataset", options.size, options.input_channels);
  check_image_options("PairedFolderDataset", options.size, options.target_channels);
  const std::string dir_a = root + "/A", dir_b = root + "/B";
  std::error_code error;
  check_file(fs::is_directory(dir_a, error) && fs::is_directory(dir_b, error),
             "[PairedFolderDataset] ", root, ": expected sub-folders A (inputs) and B (outputs)");
  const auto inputs = pictures_by_stem(dir_a, options.strict, &warnings_);
  const auto targets = pictures_by_stem(dir_b, options.strict, &warnings_);
  std::vector<std::string> only_a, only_b;
  for (const auto& [stem, path] : inputs) {
    if (targets.count(stem) == 0) only_a.push_back(stem);
  }
  for (const auto& [stem, path] : targets) {
    if (inputs.count(stem) == 0) only_b.push_back(stem);
  }
  if (!only_a.empty() || !only_b.empty()) {
    std::string message = "[PairedFolderDataset] " + root + ": unmatched pictures;";
    if (!only_a.empty()) message += " in A only: " + list_names(only_a) + ";";
    if (!only_b.empty()) message += " in B only: " + list_names(only_b) + ";";
    throw FileError(message);
  }
  for (const auto& [stem, path] : inputs) {
    inputs_.push_back(path);
    targets_.push_back(targets.at(stem));
  }
  check_file(!inputs_.empty(), "[PairedFolderDataset] ", root, ": no picture pairs in A and B");
}

ImageExample PairedFolderDataset::get(std::int64_t index) const {
  if (index < 0 || index >= size()) {
    throw std::out_of_range("[PairedFolderDataset] index " + std::to_string(index) +
                            " outside [0, " + std::to_string(size()) + ")");
  }
  ImageExample example;
  example.image = load_image_tensor(inputs_[index], options_.size, options_.input_channels);
  example.target = load_image_tensor(targets_[index], options_.size, options_.target_channels);
  return example;
}

}  // namespace fi
