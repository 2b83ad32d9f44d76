// What a run's data is, from its configuration alone: kind, example shape, condition channels.
// The model builder, the samplers and the configuration checks need these facts without loading
// any data; train/training_data.h reads the data itself.
//
//   target         data                                              example shape
//   a 2D name      the toy2d distribution (data/toy2d.h)             (2)
//   fashion-mnist  Fashion-MNIST train split, labels 0..9            (1, 28, 28)
//   folder         data_dir/CLASS/*.png|jpg or data_dir/*.png|jpg    (channels, size, size)
//   pairs          data_dir/A and data_dir/B, matched by file name   (channels, size, size)
//   visprompt      VisPrompt-mini pairs of all eight tasks           (1, size, size), size 32k
//
// Image pairs (pairs, visprompt) flow from the input picture to the output picture: source =
// input starts the path at the input ("bridge"); source = gaussian starts it at noise
// ("conditional"). Either way the model also sees the input as condition channels, blanked for a
// share input_dropout of the training examples so that guidance has an unconditional velocity.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flowinone/generative/run_config.h"

namespace fi {

enum class DataKind { kToy2d, kFashionMnist, kFolder, kPairs, kVisPrompt };

/// The kind of the configuration's target; throws std::invalid_argument listing the names.
DataKind data_kind(const RunConfig& config);

/// True for every kind but kToy2d.
bool is_image_data(const RunConfig& config);

/// True for pairs and visprompt: the model maps an input picture to an output picture.
bool is_image_pairs(const RunConfig& config);

/// "bridge" (source = input) or "conditional" (source = gaussian) for image pairs; "" otherwise.
std::string pairing_mode(const RunConfig& config);

/// Shape of one example: {2} for 2D data, {C, H, W} for images.
std::vector<std::int64_t> data_shape(const RunConfig& config);

/// Channels of the condition image the model takes (the input picture of image pairs); 0 when
/// there is none.
std::int64_t condition_channels(const RunConfig& config);

/// The data keys' checks (names, sizes, and which source, path, coupling and model go with which
/// data); part of validate_config. Throws std::invalid_argument naming the key.
void validate_data_config(const RunConfig& config);

}  // namespace fi
