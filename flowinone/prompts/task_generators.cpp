#include "flowinone/prompts/task_generators.h"

#include <ATen/ops/adaptive_avg_pool2d.h>

#include <cmath>
#include <stdexcept>
#include <tuple>

#include "flowinone/core/errors.h"
#include "flowinone/prompts/image_measures.h"

namespace fi::prompt_tasks {
namespace {

constexpr int kPad = (kBaseSize - kItemSize) / 2;
constexpr float kBackground = -1.0f;
constexpr float kInk = 1.0f;
constexpr double kBallRadius = 2.5;
constexpr double kPi = 3.14159265358979323846;

/// An integer uniform in [low, high).
std::int64_t uniform_int(at::Generator& generator, std::int64_t low, std::int64_t high) {
  return torch::randint(low, high, {1}, generator, torch::kInt64).item<std::int64_t>();
}

/// A real uniform in [low, high).
double uniform_real(at::Generator& generator, double low, double high) {
  return low + (high - low) * torch::rand({1}, generator, torch::kFloat64).item<double>();
}

std::int64_t draw_item(const ItemSource& items, at::Generator& generator) {
  check_arg(items.size() > 0, "[make_prompt_pair] the item source is empty");
  return uniform_int(generator, 0, items.size());
}

/// The item centred on the 32-px canvas.
torch::Tensor padded_item(const ItemSource& items, std::int64_t index) {
  const torch::Tensor item = items.item(index).to(torch::kFloat32);
  check_arg(item.dim() == 3 && item.size(0) == 1 && item.size(1) == kItemSize &&
                item.size(2) == kItemSize,
            "[make_prompt_pair] item ", index, " must be (1, 28, 28), got ", item.sizes());
  torch::Tensor canvas = torch::full({1, kBaseSize, kBaseSize}, kBackground);
  canvas.narrow(1, kPad, kItemSize).narrow(2, kPad, kItemSize).copy_(item);
  return canvas;
}

torch::Tensor full_mask() { return torch::ones({1, kBaseSize, kBaseSize}, torch::kBool); }

torch::Tensor rect_mask(const std::vector<PixelRect>& rects) {
  torch::Tensor mask = torch::zeros({1, kBaseSize, kBaseSize}, torch::kBool);
  for (const auto& r : rects) {
    const int x0 = std::max(r.x0, 0), x1 = std::min(r.x1, kBaseSize);
    const int y0 = std::max(r.y0, 0), y1 = std::min(r.y1, kBaseSize);
    if (x0 < x1 && y0 < y1) mask.narrow(1, y0, y1 - y0).narrow(2, x0, x1 - x0).fill_(true);
  }
  return mask;
}

/// A word on a dark plate one pixel larger than the text on every side, the plate's top-left
/// at (x, y); returns the plate.
PixelRect draw_plate(PromptCanvas& canvas, int x, int y, const std::string& word) {
  const TextStyle style{};
  const PixelRect plate{x, y, x + text_width(word, style) + 2, y + text_line_height(style) + 2};
  canvas.fill_box(plate, kBackground);
  canvas.draw_text(x + 1, y + 1, word, kInk, style);
  return plate;
}

PromptPair start_pair(PromptTask task) {
  PromptPair pair;
  pair.info.task = task;
  pair.info.size = kBaseSize;
  return pair;
}

}  // namespace

const std::vector<std::string>& text_in_image_words() {
  static const std::vector<std::string> words = {"new", "sale", "hot", "cool", "ok",  "hi",
                                                 "wow", "max",  "art", "fun",  "big", "zip",
                                                 "yes", "no",   "go",  "top"};
  return words;
}

const std::vector<std::string>& text2image_places() {
  static const std::vector<std::string> places = {"top-left", "top-right", "bottom-left",
                                                  "bottom-right"};
  return places;
}

PromptPair make_class2image(const ItemSource& items, at::Generator& generator) {
  PromptPair pair = start_pair(PromptTask::kClass2Image);
  auto& info = pair.info;
  info.item_index = draw_item(items, generator);
  info.class_id = items.label(info.item_index);
  info.text = items.class_names().at(std::size_t(info.class_id));
  PromptCanvas canvas(kBaseSize, kBaseSize);
  canvas.draw_text_block(info.text, kInk);
  pair.input = canvas.tensor();
  pair.output = padded_item(items, info.item_index);
  info.edit_mask = full_mask();
  return pair;
}

PromptPair make_text2image(const ItemSource& items, at::Generator& generator) {
  PromptPair pair = start_pair(PromptTask::kText2Image);
  auto& info = pair.info;
  info.item_index = draw_item(items, generator);
  info.class_id = items.label(info.item_index);
  const std::int64_t quadrant = uniform_int(generator, 0, 4);
  info.text = items.class_names().at(std::size_t(info.class_id)) + " " +
              text2image_places()[std::size_t(quadrant)];
  PromptCanvas canvas(kBaseSize, kBaseSize);
  canvas.draw_text_block(info.text, kInk);
  pair.input = canvas.tensor();

  constexpr int kHalf = kBaseSize / 2;
  const int x0 = int(quadrant % 2) * kHalf;
  const int y0 = int(quadrant / 2) * kHalf;
  info.target_region = {x0, y0, x0 + kHalf, y0 + kHalf};
  info.target_center = {x0 + kHalf / 2.0, y0 + kHalf / 2.0};
  // Area averaging keeps the background exactly -1 and the item's mean brightness.
  const torch::Tensor small =
      at::adaptive_avg_pool2d(items.item(info.item_index).to(torch::kFloat32).unsqueeze(0),
                              {kHalf, kHalf})
          .squeeze(0);
  torch::Tensor output = torch::full({1, kBaseSize, kBaseSize}, kBackground);
  output.narrow(1, y0, kHalf).narrow(2, x0, kHalf).copy_(small);
  pair.output = output;
  info.edit_mask = full_mask();
  return pair;
}

PromptPair make_doodle(const ItemSource& items, at::Generator& generator) {
  PromptPair pair = start_pair(PromptTask::kDoodle);
  auto& info = pair.info;
  info.item_index = draw_item(items, generator);
  info.class_id = items.label(info.item_index);
  pair.output = padded_item(items, info.item_index);
  pair.input = edge_sketch(pair.output);
  info.edit_mask = full_mask();
  return pair;
}

PromptPair make_text_in_image(const ItemSource& items, at::Generator& generator) {
  PromptPair pair = start_pair(PromptTask::kTextInImage);
  auto& info = pair.info;
  info.item_index = draw_item(items, generator);
  info.class_id = items.label(info.item_index);
  const auto& words = text_in_image_words();
  info.word = words[std::size_t(uniform_int(generator, 0, std::int64_t(words.size())))];
  info.text = info.word;
  const torch::Tensor item = padded_item(items, info.item_index);

  PromptCanvas input(item);
  const PixelRect corner = draw_plate(input, 0, 0, info.word);
  pair.input = input.tensor();

  PromptCanvas output(item);
  const int plate_width = text_width(info.word, info.word_style) + 2;
  const int plate_height = text_line_height(info.word_style) + 2;
  const PixelRect centre =
      draw_plate(output, (kBaseSize - plate_width) / 2, (kBaseSize - plate_height) / 2, info.word);
  pair.output = output.tensor();
  info.word_x = centre.x0 + 1;
  info.word_y = centre.y0 + 1;
  info.edit_mask = rect_mask({corner, centre});
  return pair;
}

PromptPair make_box_edit(const ItemSource& items, at::Generator& generator) {
  PromptPair pair = start_pair(PromptTask::kBoxEdit);
  auto& info = pair.info;
  info.item_index = draw_item(items, generator);
  info.class_id = items.label(info.item_index);
  info.text = "erase";
  const torch::Tensor item = padded_item(items, info.item_index);

  // The box lies below the label strip (rows 0..6), inside the item's 28-px square.
  const int width = int(uniform_int(generator, 6, 15));
  const int height = int(uniform_int(generator, 6, 15));
  const int x0 = int(uniform_int(generator, kPad, kBaseSize - kPad - width + 1));
  const int y0 = int(uniform_int(generator, 9, kBaseSize - kPad - height + 1));
  info.box = {x0, y0, x0 + width, y0 + height};

  PromptCanvas input(item);
  const PixelRect label = draw_plate(input, 0, 0, info.text);
  // A dashed outline, two pixels ink and two background, visible on bright and dark items.
  int k = 0;
  auto dash = [&](int x, int y) { input.blend(x, y, (k++ / 2) % 2 == 0 ? kInk : kBackground); };
  for (int x = info.box.x0; x < info.box.x1; ++x) dash(x, info.box.y0);
  for (int y = info.box.y0 + 1; y < info.box.y1; ++y) dash(info.box.x1 - 1, y);
  for (int x = info.box.x1 - 2; x >= info.box.x0; --x) dash(x, info.box.y1 - 1);
  for (int y = info.box.y1 - 2; y > info.box.y0; --y) dash(info.box.x0, y);
  pair.input = input.tensor();

  PromptCanvas output(item);
  output.fill_box(info.box, kBackground);
  pair.output = output.tensor();
  info.edit_mask = rect_mask({info.box, label});
  return pair;
}

PromptPair make_vismarker(const ItemSource& items, at::Generator& generator) {
  PromptPair pair = start_pair(PromptTask::kVisMarker);
  auto& info = pair.info;
  info.item_index = draw_item(items, generator);
  info.class_id = items.label(info.item_index);
  const torch::Tensor item = padded_item(items, info.item_index);

  // The spot is a pixel corner within 8 px of the centre, preferably on the item (a corner
  // whose four pixels are bright), so the shift is whole pixels and the spot lands exactly on
  // the canvas centre.
  constexpr int kReach = 8;
  constexpr int kCentre = kBaseSize / 2;
  const auto pixels = item.accessor<float, 3>();
  std::vector<std::pair<int, int>> on_item;
  for (int y = kCentre - kReach; y <= kCentre + kReach; ++y) {
    for (int x = kCentre - kReach; x <= kCentre + kReach; ++x) {
      if (pixels[0][y - 1][x - 1] > 0 && pixels[0][y - 1][x] > 0 && pixels[0][y][x - 1] > 0 &&
          pixels[0][y][x] > 0)
        on_item.emplace_back(x, y);
    }
  }
  int mx = 0, my = 0;
  if (!on_item.empty()) {
    std::tie(mx, my) =
        on_item[std::size_t(uniform_int(generator, 0, std::int64_t(on_item.size())))];
  } else {
    mx = int(uniform_int(generator, kCentre - kReach, kCentre + kReach + 1));
    my = int(uniform_int(generator, kCentre - kReach, kCentre + kReach + 1));
  }
  info.marker = {double(mx), double(my)};
  info.shift_x = kCentre - mx;
  info.shift_y = kCentre - my;
  info.target_center = {double(kCentre), double(kCentre)};

  // A bright dot in a dark ring: visible on any ground.
  PromptCanvas input(item);
  input.draw_dot(info.marker, 3.5, kBackground);
  input.draw_dot(info.marker, 2.0, kInk);
  pair.input = input.tensor();
  pair.output = shift_image(item, info.shift_x, info.shift_y, kBackground);
  // The pixels under the marker cannot be known from the input: after the shift they sit
  // around the centre.
  info.edit_mask = rect_mask({{kCentre - 4, kCentre - 4, kCentre + 4, kCentre + 4}});
  return pair;
}

PromptPair make_force(at::Generator& generator) {
  PromptPair pair = start_pair(PromptTask::kForce);
  auto& info = pair.info;
  info.ball_radius = kBallRadius;
  const double low = kBallRadius + 1;
  const double high = kBaseSize - kBallRadius - 1;
  for (int attempt = 0;; ++attempt) {
    if (attempt == 1000) throw std::logic_error("[make_force] no arrow fits the canvas");
    const CanvasPoint start{uniform_real(generator, low, high), uniform_real(generator, low, high)};
    const double angle = uniform_real(generator, 0, 2 * kPi);
    const double length = uniform_real(generator, 6, 12);
    const CanvasPoint end{start.x + length * std::cos(angle), start.y + length * std::sin(angle)};
    if (end.x < low || end.x > high || end.y < low || end.y > high) continue;
    info.ball_start = start;
    info.ball_center = end;
    info.arrow_length = length;
    break;
  }
  PromptCanvas input(kBaseSize, kBaseSize);
  input.draw_dot(info.ball_start, kBallRadius, kInk);
  input.draw_arrow(info.ball_start, info.ball_center, kInk, 3.0, 1.0);
  pair.input = input.tensor();
  PromptCanvas output(kBaseSize, kBaseSize);
  output.draw_dot(info.ball_center, kBallRadius, kInk);
  pair.output = output.tensor();
  info.edit_mask = full_mask();
  return pair;
}

PromptPair make_trajectory(at::Generator& generator) {
  PromptPair pair = start_pair(PromptTask::kTrajectory);
  auto& info = pair.info;
  info.ball_radius = kBallRadius;
  const double low = kBallRadius + 1;
  const double high = kBaseSize - kBallRadius - 1;
  std::vector<CanvasPoint> positions;  // steps 0..4
  for (int attempt = 0;; ++attempt) {
    if (attempt == 1000) throw std::logic_error("[make_trajectory] no parabola fits the canvas");
    const CanvasPoint origin{uniform_real(generator, low, high),
                             uniform_real(generator, low, high)};
    const double speed_x =
        uniform_real(generator, 2.5, 5.0) * (uniform_int(generator, 0, 2) ? 1 : -1);
    const double speed_y = uniform_real(generator, -5.0, 1.0);
    const double gravity = uniform_real(generator, 0.4, 1.2);  // pixels per step^2, downwards
    positions.clear();
    bool fits = true;
    for (int k = 0; k <= 4; ++k) {
      const CanvasPoint p{origin.x + speed_x * k, origin.y + speed_y * k + 0.5 * gravity * k * k};
      fits = fits && p.x >= low && p.x <= high && p.y >= low && p.y <= high;
      // Consecutive positions far enough apart for their dots not to merge.
      if (k > 0)
        fits = fits && std::hypot(p.x - positions.back().x, p.y - positions.back().y) >= 4.5;
      positions.push_back(p);
    }
    if (fits) break;
  }
  info.trail.assign(positions.begin(), positions.begin() + 4);
  info.ball_start = positions[3];
  info.ball_center = positions[4];
  PromptCanvas input(kBaseSize, kBaseSize);
  for (int k = 0; k < 3; ++k) input.draw_dot(positions[k], 1.5, 0.0f);  // the trail, dim
  input.draw_dot(info.ball_start, kBallRadius, kInk);
  pair.input = input.tensor();
  PromptCanvas output(kBaseSize, kBaseSize);
  output.draw_dot(info.ball_center, kBallRadius, kInk);
  pair.output = output.tensor();
  info.edit_mask = full_mask();
  return pair;
}

}  // namespace fi::prompt_tasks
