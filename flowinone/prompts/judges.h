// VP-Bench-mini judges: programmatic scores of a candidate output for a VisPrompt-mini pair,
// after FlowInOne's four criteria (fidelity, consistency, realism, spatial precision), with
// measurements in place of a language model:
//
//   ball_error_px      force, trajectory: distance from the centroid of the pixels above 0
//                      (weights (v + 1) / 2) to the true ball centre; infinite when their mass
//                      is not one ball's (within a factor 2)
//   position_error_px  text2image: centroid of the pixels above -0.5 to the named quadrant's
//                      centre, passing when the centroid lies in the quadrant;
//                      vismarker: the same centroid to the ground truth's, within 4 px
//   in_place_fraction  text2image: the share of that mass inside the named quadrant (>= 0.8)
//   psnr_db            text_in_image, box_edit, vismarker: PSNR against the ground truth outside
//                      the edited region (there the ground truth is the input, shifted for
//                      vismarker)
//   box_blank          box_edit: mean |v - background| inside the box
//   word_read          text_in_image: 1 when template matching reads the word at its place
//   edge_f1            doodle: agreement of the candidate's edge sketch with the input sketch
//   item_coverage      class2image: fraction of pixels above -0.8 (an item, not a blank canvas)
//   class_agrees       class2image, text2image, doodle: 1 when the classifier hook names the
//                      requested class (only with a hook), or, with
//                      class_from_ground_truth, the class it names for the ground-truth output
//
// A candidate passes when every criterion judged passes. Realism (FID per task) needs a whole
// set of samples and is not a per-sample judge: it belongs to the benchmark.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flowinone/prompts/prompt_task.h"

namespace fi {

/// Names the class of an item image (1, 28, 28) in [-1, 1]. The judges hand it the 28-px
/// centre of the canvas (class2image, doodle) or the named quadrant enlarged to 28 px
/// (text2image), shrunk first when the canvas is larger than 32 px.
using ClassifyFn = std::function<std::int64_t(const torch::Tensor& item)>;

struct JudgeOptions {
  double max_ball_error_px = 2.0;      // at 32 px; scaled with the canvas
  double max_position_error_px = 4.0;  // vismarker, at 32 px; scaled with the canvas
  double min_in_place_fraction = 0.8;  // text2image
  double min_psnr_db = 30.0;
  double max_box_deviation = 0.1;  // mean |v + 1| inside the box
  double min_edge_f1 = 0.6;
  double min_item_coverage = 0.02;
  ClassifyFn classify;  // empty: class fidelity is not judged
  // The class a candidate must be named: false, the pair's true class; true, the class the hook
  // names for the ground-truth output. The second bounds no model below the ground truth by the
  // classifier's own errors (on shrunken text2image items above all): a candidate passes when it
  // looks to the classifier like the answer does.
  bool class_from_ground_truth = false;
};

struct Criterion {
  std::string name;
  double value = 0;
  bool pass = false;
};

struct Judgement {
  std::vector<Criterion> criteria;
  /// Whether every criterion passed (false when none was judged).
  bool passed() const;
  /// The criterion called `name`, or nullptr.
  const Criterion* find(const std::string& name) const;
};

/// The (1, 28, 28) view of an item in `image` (1, S, S) that the classify hook receives: the
/// centred 28/32 of the canvas, or the target quadrant for text2image, resized to 28 px.
torch::Tensor judged_item_view(const PromptTaskInfo& info, const torch::Tensor& image);

/// Judges `candidate` (1, S, S) as the output for `pair`. Throws std::invalid_argument when
/// the candidate's shape differs from the pair's output.
Judgement judge_prompt_output(const PromptPair& pair, const torch::Tensor& candidate,
                              const JudgeOptions& options = {});

}  // namespace fi
