#include "flowinone/eval/visprompt_bench.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "flowinone/core/errors.h"
#include "flowinone/eval/fid.h"

namespace fi {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// SplitMix64's finalizer: a bijective mix, so distinct inputs give distinct, well-spread seeds.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The tasks with an item whose realism a classifier can judge (not the ball tasks).
bool has_item(PromptTask task) {
  return task != PromptTask::kForce && task != PromptTask::kTrajectory;
}

void check_options(const VisPromptBenchOptions& options, const TranslateFn& translate) {
  check_arg(options.n >= 1, "[visprompt_bench] n must be >= 1, got ", options.n);
  check_arg(options.batch_size >= 1, "[visprompt_bench] batch_size must be >= 1, got ",
            options.batch_size);
  check_arg(options.size >= 32 && options.size % 32 == 0, "[visprompt_bench] size ", options.size,
            " must be a positive multiple of 32");
  check_arg(!options.tasks.empty(), "[visprompt_bench] the task list is empty");
  std::set<PromptTask> seen;
  for (PromptTask task : options.tasks) {
    check_arg(seen.insert(task).second, "[visprompt_bench] task ", to_string(task),
              " is listed twice");
  }
  check_arg(bool(translate), "[visprompt_bench] no translator given");
}

/// Sums over one task's samples, turned into a VisPromptTaskScore at the end.
struct TaskTally {
  struct CriterionTally {
    double finite_sum = 0;
    std::int64_t num_finite = 0;
    std::int64_t num_passed = 0;
    std::int64_t num_non_finite = 0;
  };
  std::int64_t n = 0;
  std::int64_t num_passed = 0;
  std::map<std::string, CriterionTally> criteria;
  std::vector<torch::Tensor> candidate_items;  // (1, 28, 28) each, for FID
  std::vector<torch::Tensor> truth_items;

  void add(const Judgement& judgement) {
    ++n;
    if (judgement.passed()) ++num_passed;
    for (const auto& c : judgement.criteria) {
      auto& tally = criteria[c.name];
      if (std::isfinite(c.value)) {
        tally.finite_sum += c.value;
        ++tally.num_finite;
      } else {
        ++tally.num_non_finite;
      }
      if (c.pass) ++tally.num_passed;
    }
  }
};

/// Classifier-feature FID of the candidates' item views against the ground truths'; nullopt when
/// there are fewer than two or a candidate's features are not finite (a model that diverged).
std::optional<double> item_fid(ImageClassifier& classifier, const TaskTally& tally) {
  if (tally.candidate_items.size() < 2) return std::nullopt;
  const torch::Tensor candidates =
      classifier_features(classifier, torch::stack(tally.candidate_items));
  const torch::Tensor truths = classifier_features(classifier, torch::stack(tally.truth_items));
  if (!torch::isfinite(candidates).all().item<bool>()) return std::nullopt;
  return frechet_distance(candidates, truths);
}

VisPromptTaskScore score_task(PromptTask task, const ItemSource& items,
                              const TranslateFn& translate, const VisPromptBenchOptions& options,
                              const JudgeOptions& judge, ImageClassifier* classifier,
                              double& translate_seconds) {
  const bool with_fid = classifier != nullptr && has_item(task);
  const std::int64_t s = options.size;
  PromptOptions prompt_options;
  prompt_options.size = options.size;
  TaskTally tally;
  for (std::int64_t begin = 0; begin < options.n; begin += options.batch_size) {
    const std::int64_t count = std::min(options.batch_size, options.n - begin);
    std::vector<PromptPair> pairs;
    std::vector<torch::Tensor> inputs;
    std::vector<PromptTaskInfo> infos;
    for (std::int64_t i = 0; i < count; ++i) {
      pairs.push_back(make_prompt_pair(
          task, items, visprompt_pair_seed(options.seed, task, begin + i), prompt_options));
      inputs.push_back(pairs.back().input);
      infos.push_back(pairs.back().info);
    }
    const auto start = Clock::now();
    const torch::Tensor returned = translate(torch::stack(inputs), infos);
    translate_seconds += seconds_since(start);
    check_arg(returned.defined() && returned.sizes() == c10::IntArrayRef{count, 1, s, s},
              "[visprompt_bench] the translator returned shape ",
              returned.defined() ? returned.sizes() : c10::IntArrayRef{}, " for ", to_string(task),
              " inputs of shape [", count, ", 1, ", s, ", ", s, "]");
    // Judged as the image it would be written as: values outside [-1, 1] saturate.
    const torch::Tensor candidates =
        returned.detach().to(torch::kCPU, torch::kFloat32).clamp(-1.0, 1.0);
    for (std::int64_t i = 0; i < count; ++i) {
      const PromptPair& pair = pairs[std::size_t(i)];
      const torch::Tensor candidate = candidates[i];
      tally.add(judge_prompt_output(pair, candidate, judge));
      if (with_fid) {
        tally.candidate_items.push_back(judged_item_view(pair.info, candidate));
        tally.truth_items.push_back(judged_item_view(pair.info, pair.output));
      }
    }
  }

  VisPromptTaskScore score;
  score.task = to_string(task);
  score.n = tally.n;
  score.num_passed = tally.num_passed;
  score.pass_rate = double(tally.num_passed) / double(tally.n);
  for (const auto& [name, c] : tally.criteria) {
    VisPromptCriterionScore& out = score.criteria[name];
    out.mean = c.num_finite > 0 ? c.finite_sum / double(c.num_finite)
                                : std::numeric_limits<double>::quiet_NaN();
    out.pass_rate = double(c.num_passed) / double(tally.n);
    out.num_non_finite = c.num_non_finite;
  }
  if (with_fid) score.fid = item_fid(*classifier, tally);
  return score;
}

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

}  // namespace

std::uint64_t visprompt_pair_seed(std::uint64_t seed, PromptTask task, std::int64_t index) {
  check_arg(index >= 0, "[visprompt_pair_seed] index must be >= 0, got ", index);
  const std::uint64_t mixed =
      splitmix64(splitmix64(splitmix64(seed) ^ std::uint64_t(task)) ^ std::uint64_t(index));
  return kVisPromptBenchSeedBase | (mixed >> 2);
}

JudgeOptions visprompt_bench_judge_options() {
  JudgeOptions options;
  options.class_from_ground_truth = true;
  return options;
}

ClassifyFn classify_with(ImageClassifier& classifier) {
  return [&classifier](const torch::Tensor& item) {
    return classifier_predictions(classifier, item.unsqueeze(0), 1)[0].item<std::int64_t>();
  };
}

VisPromptBenchResult run_visprompt_bench(const ItemSource& items, const TranslateFn& translate,
                                         const VisPromptBenchOptions& options,
                                         ImageClassifier* classifier) {
  check_options(options, translate);
  const auto start = Clock::now();
  JudgeOptions judge = options.judge;
  if (classifier != nullptr) judge.classify = classify_with(*classifier);
  VisPromptBenchResult result;
  std::int64_t num_passed = 0;
  for (PromptTask task : options.tasks) {
    result.tasks.push_back(
        score_task(task, items, translate, options, judge, classifier, result.translate_seconds));
    const auto& score = result.tasks.back();
    result.n += score.n;
    num_passed += score.num_passed;
  }
  result.pass_rate = double(num_passed) / double(result.n);
  result.seconds = seconds_since(start);
  return result;
}

nlohmann::json VisPromptBenchResult::to_json() const {
  nlohmann::json json;
  json["pass_rate"] = pass_rate;
  json["n"] = n;
  json["seconds"] = seconds;
  json["translate_seconds"] = translate_seconds;
  nlohmann::json by_task = nlohmann::json::object();
  for (const auto& task : tasks) {
    nlohmann::json t;
    t["pass_rate"] = task.pass_rate;
    t["n"] = task.n;
    nlohmann::json criteria = nlohmann::json::object();
    for (const auto& [name, c] : task.criteria) {
      nlohmann::json entry;
      entry["mean"] = number_or_null(c.mean);
      entry["pass_rate"] = c.pass_rate;
      if (c.num_non_finite > 0) entry["non_finite"] = c.num_non_finite;
      criteria[name] = entry;
    }
    t["criteria"] = criteria;
    t["fid"] = task.fid ? number_or_null(*task.fid) : nlohmann::json(nullptr);
    by_task[task.task] = t;
  }
  json["tasks"] = by_task;
  return json;
}

TranslateFn oracle_translate(const ItemSource& items) {
  return [&items](const torch::Tensor& inputs, const std::vector<PromptTaskInfo>& infos) {
    check_arg(std::int64_t(infos.size()) == inputs.size(0), "[oracle_translate] ", infos.size(),
              " infos for ", inputs.size(0), " inputs");
    std::vector<torch::Tensor> outputs;
    for (const auto& info : infos) {
      PromptOptions options;
      options.size = info.size;
      outputs.push_back(make_prompt_pair(info.task, items, info.seed, options).output);
    }
    return torch::stack(outputs);
  };
}

TranslateFn identity_translate() {
  return [](const torch::Tensor& inputs, const std::vector<PromptTaskInfo>&) { return inputs; };
}

}  // namespace fi
