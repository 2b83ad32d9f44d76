// The eight VisPrompt-mini generators at the base size of 32 px (internal to prompts/;
// make_prompt_pair in prompt_task.h is the public entry, which also enlarges to other sizes).
#pragma once

#include <ATen/core/Generator.h>

#include "flowinone/prompts/prompt_task.h"

namespace fi::prompt_tasks {

constexpr int kBaseSize = 32;

PromptPair make_class2image(const ItemSource& items, at::Generator& generator);
PromptPair make_text2image(const ItemSource& items, at::Generator& generator);
PromptPair make_doodle(const ItemSource& items, at::Generator& generator);
PromptPair make_text_in_image(const ItemSource& items, at::Generator& generator);
PromptPair make_box_edit(const ItemSource& items, at::Generator& generator);
PromptPair make_vismarker(const ItemSource& items, at::Generator& generator);
PromptPair make_force(at::Generator& generator);
PromptPair make_trajectory(at::Generator& generator);

/// The words text_in_image writes (short enough for a plate on a 32-px canvas).
const std::vector<std::string>& text_in_image_words();

/// The four places text2image names, in quadrant order: top-left, top-right, bottom-left,
/// bottom-right.
const std::vector<std::string>& text2image_places();

}  // namespace fi::prompt_tasks
