#include "flowinone/prompts/judges.h"

#include <ATen/ops/adaptive_avg_pool2d.h>
#include <ATen/ops/upsample_bilinear2d.h>

#include <cmath>
#include <limits>

#include "flowinone/core/errors.h"
#include "flowinone/prompts/image_measures.h"
#include "flowinone/prompts/text_reader.h"

namespace fi {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// Centroids count only pixels well above the background, so that faint noise in a model's
// background (-1 +- a little) cannot pull them: the ball is white, so mid-gray separates it;
// items can be dark gray, so a quarter of the range does.
constexpr double kBrightThreshold = 0.0;
constexpr double kItemThreshold = -0.5;

double distance(CanvasPoint a, CanvasPoint b) {
  const double d = std::hypot(a.x - b.x, a.y - b.y);
  return std::isnan(d) ? kInfinity : d;
}

/// The region of `image` shrunk or enlarged to the classifier's 28 px.
torch::Tensor item_view(const torch::Tensor& image, const PixelRect& region) {
  const torch::Tensor crop =
      image.narrow(1, region.y0, region.height()).narrow(2, region.x0, region.width()).unsqueeze(0);
  if (region.width() == kItemSize && region.height() == kItemSize) return crop.squeeze(0);
  if (region.width() > kItemSize)
    return at::adaptive_avg_pool2d(crop, {kItemSize, kItemSize}).squeeze(0);
  return at::upsample_bilinear2d(crop, {kItemSize, kItemSize}, false).squeeze(0);
}

void judge_class(const PromptPair& pair, const torch::Tensor& candidate,
                 const JudgeOptions& options, Judgement& judgement) {
  if (!options.classify) return;
  const std::int64_t named = options.classify(judged_item_view(pair.info, candidate));
  const std::int64_t expected = options.class_from_ground_truth
                                    ? options.classify(judged_item_view(pair.info, pair.output))
                                    : pair.info.class_id;
  const bool agrees = named == expected;
  judgement.criteria.push_back({"class_agrees", agrees ? 1.0 : 0.0, agrees});
}

void judge_consistency(const PromptPair& pair, const torch::Tensor& candidate,
                       const JudgeOptions& options, Judgement& judgement) {
  const double psnr = psnr_db(candidate, pair.output, pair.info.edit_mask.logical_not());
  judgement.criteria.push_back({"psnr_db", psnr, psnr >= options.min_psnr_db});
}

void judge_ball(const PromptPair& pair, const torch::Tensor& candidate, const JudgeOptions& options,
                double scale, Judgement& judgement) {
  const BrightMass found = bright_mass(candidate, kBrightThreshold);
  const double r = pair.info.ball_radius;
  const double expected_mass = 3.14159265358979323846 * r * r;
  // A centroid only means something when the bright mass is about one ball.
  const bool one_ball = found.mass >= 0.5 * expected_mass && found.mass <= 2.0 * expected_mass;
  const double error = one_ball ? distance(found.centroid, pair.info.ball_center) : kInfinity;
  judgement.criteria.push_back(
      {"ball_error_px", error, error <= options.max_ball_error_px * scale});
}

}  // namespace

torch::Tensor judged_item_view(const PromptTaskInfo& info, const torch::Tensor& image) {
  check_arg(image.defined() && image.dim() == 3 && image.size(0) == 1 &&
                image.size(1) == info.size && image.size(2) == info.size,
            "[judged_item_view] image must be (1, ", info.size, ", ", info.size, "), got ",
            image.defined() ? image.sizes() : c10::IntArrayRef{});
  PixelRect region;
  if (info.task == PromptTask::kText2Image) {
    region = info.target_region;
  } else {
    // The item's 28/32 of the canvas, centred.
    const int side = info.size * kItemSize / 32;
    const int pad = (info.size - side) / 2;
    region = {pad, pad, pad + side, pad + side};
  }
  return item_view(image.detach().to(torch::kCPU, torch::kFloat32), region);
}

bool Judgement::passed() const {
  if (criteria.empty()) return false;
  for (const auto& c : criteria) {
    if (!c.pass) return false;
  }
  return true;
}

const Criterion* Judgement::find(const std::string& name) const {
  for (const auto& c : criteria) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Judgement judge_prompt_output(const PromptPair& pair, const torch::Tensor& candidate_in,
                              const JudgeOptions& options) {
  check_arg(candidate_in.defined() && candidate_in.sizes() == pair.output.sizes(),
            "[judge_prompt_output] candidate shape ",
            candidate_in.defined() ? candidate_in.sizes() : c10::IntArrayRef{},
            " differs from the output's ", pair.output.sizes());
  const torch::Tensor candidate = candidate_in.detach().to(torch::kCPU, torch::kFloat32);
  const auto& info = pair.info;
  const double scale = info.size / 32.0;
  Judgement judgement;
  switch (info.task) {
    case PromptTask::kClass2Image: {
      // Without a classifier this is all that can be said: there is an item, not a blank.
      const double covered = (candidate > -0.8).to(torch::kFloat64).mean().item<double>();
      judgement.criteria.push_back(
          {"item_coverage", covered, covered >= options.min_item_coverage});
      judge_class(pair, candidate, options, judgement);
      break;
    }
    case PromptTask::kText2Image: {
      // Items are not centred on their centroid (a bag's handle, a sandal's heel moves it up
      // to 7 px in 5000 ground truths), so the place is judged as the quadrant itself: the
      // centroid inside it and most of the mass too. The distance is reported as precision.
      const BrightMass all = bright_mass(candidate, kItemThreshold);
      const auto& r = info.target_region;
      const bool inside = all.centroid.x >= r.x0 && all.centroid.x <= r.x1 &&
                          all.centroid.y >= r.y0 && all.centroid.y <= r.y1;
      judgement.criteria.push_back(
          {"position_error_px", distance(all.centroid, info.target_center), inside});
      torch::Tensor in_region = torch::full_like(candidate, -1.0f);
      in_region.narrow(1, r.y0, r.height())
          .narrow(2, r.x0, r.width())
          .copy_(candidate.narrow(1, r.y0, r.height()).narrow(2, r.x0, r.width()));
      const double fraction =
          all.mass > 0 ? bright_mass(in_region, kItemThreshold).mass / all.mass : 0.0;
      judgement.criteria.push_back(
          {"in_place_fraction", fraction, fraction >= options.min_in_place_fraction});
      judge_class(pair, candidate, options, judgement);
      break;
    }
    case PromptTask::kDoodle: {
      const double f1 = edge_f1(edge_sketch(candidate), pair.input, std::max(1, int(scale)));
      judgement.criteria.push_back({"edge_f1", f1, f1 >= options.min_edge_f1});
      judge_class(pair, candidate, options, judgement);
      break;
    }
    case PromptTask::kTextInImage: {
      const TextReading reading =
          read_text(candidate, info.word_x, info.word_y, int(info.word.size()), info.word_style,
                    std::max(1, int(scale)));
      const bool read = same_text_ignoring_case(reading.text, info.word);
      judgement.criteria.push_back({"word_read", read ? 1.0 : 0.0, read});
      judge_consistency(pair, candidate, options, judgement);
      break;
    }
    case PromptTask::kBoxEdit: {
      const auto& b = info.box;
      const double deviation =
          (candidate.narrow(1, b.y0, b.height()).narrow(2, b.x0, b.width()) + 1)
              .abs()
              .mean()
              .item<double>();
      judgement.criteria.push_back(
          {"box_blank", deviation, deviation <= options.max_box_deviation});
      judge_consistency(pair, candidate, options, judgement);
      break;
    }
    case PromptTask::kVisMarker: {
      const CanvasPoint found = bright_mass(candidate, kItemThreshold).centroid;
      const CanvasPoint expected = bright_mass(pair.output, kItemThreshold).centroid;
      // An item too dark to have a centroid is matched by an answer without one.
      const bool both_empty = std::isnan(found.x) && std::isnan(expected.x);
      const double error = both_empty ? 0.0 : distance(found, expected);
      judgement.criteria.push_back(
          {"position_error_px", error, error <= options.max_position_error_px * scale});
      judge_consistency(pair, candidate, options, judgement);
      break;
    }
    case PromptTask::kForce:
    case PromptTask::kTrajectory:
      judge_ball(pair, candidate, options, scale, judgement);
      break;
  }
  return judgement;
}

}  // namespace fi
