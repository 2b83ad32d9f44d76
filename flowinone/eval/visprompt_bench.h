// VP-Bench-mini: scores an image-in, image-out translator on the eight VisPrompt-mini tasks
// (prompts/prompt_task.h) with the programmatic judges (prompts/judges.h), after FlowInOne's
// VP-Bench (arXiv 2604.06757).
//
//   per task: n pairs -> translate(inputs (B, 1, S, S), infos) -> candidates (B, 1, S, S)
//             -> clamped to [-1, 1] (the range an image has) -> judged one by one
//   reported: each criterion's mean and pass rate, the task's pass rate (a sample passes when
//             all its criteria pass), the overall pass rate (the mean over all samples), and
//             realism: the FID between classifier features of the candidates' 28-px item view
//             and the ground truths' (judged_item_view), for the six item tasks when a
//             classifier is given; null for the ball tasks. FID is reported, not judged: it is
//             biased upwards at small n (128 features from 200 samples), so compare it only at
//             equal n.
//
// Pairs are deterministic: pair i of a task has seed kVisPromptBenchSeedBase + a hash of
// (options.seed, the task, i) below 2^62, so the bench's seeds lie in [2^62, 2^63) while
// make_prompt_batch (training) draws its pair seeds below 2^62: no evaluation pair is a
// training pair, whatever seeds either run uses. Items come from the ItemSource given: the CLI
// passes Fashion-MNIST's test split, tests SyntheticItems.
//
// It does not sample a model itself: the caller hands a TranslateFn (a model's solver, or
// oracle_translate to check the judges), so the bench stays independent of model and solver.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "flowinone/eval/classifier.h"
#include "flowinone/prompts/item_source.h"
#include "flowinone/prompts/judges.h"
#include "flowinone/prompts/prompt_task.h"

namespace fi {

/// The lowest pair seed the bench uses (2^62); training pair seeds lie below it.
constexpr std::uint64_t kVisPromptBenchSeedBase = std::uint64_t(1) << 62;

/// The judges' defaults with class_from_ground_truth: with a classifier, class fidelity is the
/// classifier naming for the candidate what it names for the ground truth. Against the true
/// class, the oracle itself scores only the classifier's accuracy on the judged views (200
/// Fashion-MNIST test pairs, a 92.4 % classifier: class2image 0.91, doodle 0.945, text2image
/// 0.695 on its shrunken items), a ceiling no model could pass.
JudgeOptions visprompt_bench_judge_options();

struct VisPromptBenchOptions {
  std::int64_t n = 200;        // pairs per task
  std::uint64_t seed = 12345;  // with the task and the index, the pair's seed (see above)
  int size = 32;               // canvas side S, a multiple of 32
  std::vector<PromptTask> tasks = all_prompt_tasks();  // scored in this order, no repeats
  std::int64_t batch_size = 100;                       // inputs handed to the translator at once
  // Thresholds; classify is filled from the classifier when one is given.
  JudgeOptions judge = visprompt_bench_judge_options();
};

/// Candidate outputs (B, 1, S, S) for inputs (B, 1, S, S) float32 in [-1, 1] on the CPU; `infos`
/// describe the B pairs (task, seed, size: enough to regenerate them).
using TranslateFn = std::function<torch::Tensor(const torch::Tensor& inputs,
                                                const std::vector<PromptTaskInfo>& infos)>;

struct VisPromptCriterionScore {
  double mean = 0;                  // over the samples whose value is finite (NaN when none is)
  double pass_rate = 0;             // share of the task's samples where it passed
  std::int64_t num_non_finite = 0;  // values that were infinite or NaN (a ball not found)
};

struct VisPromptTaskScore {
  std::string task;  // to_string(PromptTask)
  std::int64_t n = 0;
  std::int64_t num_passed = 0;                              // samples passing every criterion
  double pass_rate = 0;                                     // num_passed / n
  std::map<std::string, VisPromptCriterionScore> criteria;  // by criterion name
  std::optional<double> fid;  // item tasks with a classifier; nullopt otherwise
};

struct VisPromptBenchResult {
  double pass_rate = 0;                   // over all samples of all tasks
  std::int64_t n = 0;                     // all samples
  std::vector<VisPromptTaskScore> tasks;  // in the order of options.tasks
  double seconds = 0;                     // the whole run
  double translate_seconds = 0;           // inside the translator
  /// {"pass_rate", "n", "seconds", "translate_seconds", "tasks": {name: {"pass_rate", "n",
  /// "criteria": {name: {"mean", "pass_rate"[, "non_finite"]}}, "fid"}}}; NaN and missing FID
  /// as null.
  nlohmann::json to_json() const;
};

/// The seed of pair `index` of `task` for a bench seeded with `seed`, in [2^62, 2^63).
std::uint64_t visprompt_pair_seed(std::uint64_t seed, PromptTask task, std::int64_t index);

/// Runs the bench: n pairs per task from `items`, candidates from `translate`, scored by the
/// judges; with a classifier (may be null), class fidelity through it (batch of one, on the
/// classifier's device) and FID of the item tasks. Throws std::invalid_argument for bad
/// options (n or batch_size below 1, a bad size, no or repeated tasks) and for a translator
/// that returns another shape than its inputs'.
VisPromptBenchResult run_visprompt_bench(const ItemSource& items, const TranslateFn& translate,
                                         const VisPromptBenchOptions& options = {},
                                         ImageClassifier* classifier = nullptr);

/// The perfect translator: regenerates each pair from its info (task, seed, size) with `items`
/// and returns the ground-truth outputs. `items` must outlive the function and be the source
/// the bench draws from. It checks the judges: every task should score 1.
TranslateFn oracle_translate(const ItemSource& items);

/// The translator that changes nothing (returns the inputs): a floor any model must beat.
TranslateFn identity_translate();

/// A ClassifyFn running `classifier` on one (1, 28, 28) item; it must outlive the function.
ClassifyFn classify_with(ImageClassifier& classifier);

}  // namespace fi
