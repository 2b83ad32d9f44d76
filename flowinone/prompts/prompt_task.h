// VisPrompt-mini: (input image, output image) pairs for eight visual-prompt tasks after
// FlowInOne (arXiv 2604.06757), where every instruction is drawn into the input image.
//
//   class2image    a class name written on a blank canvas  -> an item of that class (28 px, padded)
//   text2image     "bag top-left"                          -> that item at 16 px, in that quadrant
//   doodle         an edge sketch of an item                -> the item
//   text_in_image  an item, a word on a plate top-left      -> the item, the word on a plate
//   centred box_edit       an item, a dashed box, "erase" top-left  -> the item with the box
//   blanked vismarker      an item with a marker dot                -> the item shifted so the
//   dot's spot
//                                                              is the canvas centre
//   force          a ball and an arrow from its centre      -> the ball at the arrow's tip
//   trajectory     three dim trail dots and a ball          -> the ball at the next position on
//                                                              the same parabola (constant gravity)
//
// Images are gray (1, S, S) float32 in [-1, 1], background -1. Every pair is generated at 32 px
// and enlarged by pixel repetition for S = 32k, so geometry (and the metadata) scales exactly.
// A pair depends only on the task, the items and the seed (an explicit generator).
// Coordinates follow prompt_canvas.h: pixel (x, y) is centred at (x + 0.5, y + 0.5).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "flowinone/prompts/item_source.h"
#include "flowinone/prompts/prompt_canvas.h"

namespace fi {

enum class PromptTask {
  kClass2Image,
  kText2Image,
  kDoodle,
  kTextInImage,
  kBoxEdit,
  kVisMarker,
  kForce,
  kTrajectory,
};

/// The eight tasks in the order above.
const std::vector<PromptTask>& all_prompt_tasks();

/// "class2image", "text2image", "doodle", "text_in_image", "box_edit", "vismarker", "force",
/// "trajectory"; parse throws std::invalid_argument listing them for any other name.
PromptTask parse_prompt_task(const std::string& name);
std::string to_string(PromptTask task);

/// The valid names, comma-separated (for help texts and errors).
std::string prompt_task_names();

struct PromptOptions {
  int size = 32;  // canvas side in pixels: a multiple of 32
};

/// What the judges need to know about a pair; fields a task does not use keep their defaults.
/// Positions are in pixels of the S-pixel canvas.
struct PromptTaskInfo {
  PromptTask task = PromptTask::kClass2Image;
  std::uint64_t seed = 0;
  int size = 32;                 // canvas side S
  std::int64_t item_index = -1;  // the item used (-1 for the ball tasks)
  std::int64_t class_id = -1;    // its class (-1 for the ball tasks)
  std::string text;              // the text written into the input ("bag top-left", "erase")

  // text_in_image: the word and where the output shows it (top-left of the first glyph).
  std::string word;
  int word_x = 0;
  int word_y = 0;
  TextStyle word_style;

  // box_edit: the box whose pixels the output blanks.
  PixelRect box;

  // text2image: the quadrant the item goes to and its centre.
  PixelRect target_region;
  CanvasPoint target_center;

  // vismarker: the marker's spot in the input and the shift applied to the item:
  // output(x, y) = item(x - shift_x, y - shift_y), background where that falls outside.
  CanvasPoint marker;
  int shift_x = 0;
  int shift_y = 0;

  // force and trajectory: ball centres in the input and (the true answer) in the output.
  double ball_radius = 0;
  CanvasPoint ball_start;
  CanvasPoint ball_center;
  double arrow_length = 0;         // force: from the ball's centre to the arrow's tip
  std::vector<CanvasPoint> trail;  // trajectory: the centres at steps 0..3, the last = ball_start

  // (1, S, S) bool: where the output may differ from the ground truth it is compared with for
  // consistency (the input, for the edit tasks: the output equals the input elsewhere).
  // All true for the generative tasks (class2image, text2image, doodle, force, trajectory).
  torch::Tensor edit_mask;
};

struct PromptPair {
  torch::Tensor input;   // (1, S, S) float32 in [-1, 1]
  torch::Tensor output;  // (1, S, S) float32 in [-1, 1]
  PromptTaskInfo info;
};

/// One pair of `task` for `seed`, its item drawn from `items`.
PromptPair make_prompt_pair(PromptTask task, const ItemSource& items, std::uint64_t seed,
                            const PromptOptions& options = {});

struct PromptBatch {
  torch::Tensor inputs;   // (B, 1, S, S) float32
  torch::Tensor outputs;  // (B, 1, S, S) float32
  torch::Tensor tasks;    // (B) int64: index of the task in all_prompt_tasks()
  std::vector<PromptTaskInfo> infos;
};

/// `batch_size` pairs, each of a task drawn uniformly from `tasks` (default all eight) with
/// its own seed, both drawn from a generator seeded with `seed`.
PromptBatch make_prompt_batch(const ItemSource& items, std::int64_t batch_size, std::uint64_t seed,
                              const PromptOptions& options = {},
                              const std::vector<PromptTask>& tasks = all_prompt_tasks());

/// `text` written on a blank S-pixel canvas, wrapped and centred: the input of class2image
/// and text2image as a user would write it. Throws std::invalid_argument when it does not fit.
torch::Tensor render_text_prompt(const std::string& text, const PromptOptions& options = {});

}  // namespace fi
