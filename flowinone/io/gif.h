// Animated GIF writer (GIF89a, LZW), small and local: no GIF library on every target machine.
#pragma once

#include <string>
#include <vector>

#include "flowinone/io/image.h"

namespace fi {

/// Writes `frames` (all the same size, RGB or gray) as a looping animated GIF, atomically.
/// `delay_centiseconds` is the time each frame stays on screen. Colors are mapped to one global
/// 256-entry palette (exact when the frames use at most 256 colors). Throws on bad input.
void write_gif(const std::string& path, const std::vector<Image>& frames,
               int delay_centiseconds = 5);

/// The bytes write_gif writes.
std::string encode_gif(const std::vector<Image>& frames, int delay_centiseconds = 5);

}  // namespace fi
