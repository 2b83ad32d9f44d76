// Training progress for people: a one-line bar with loss, rate and ETA redrawn in place on a
// terminal, or plain periodic lines when stderr is a file or pipe (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>

#include "flowinone/train/trainer.h"

namespace fi::cli {

class ProgressBar {
 public:
  /// `plain_every`: steps between lines when not on a terminal.
  explicit ProgressBar(std::int64_t plain_every);
  void update(const TrainProgress& progress);
  /// Ends the bar's line.
  void finish();

 private:
  bool terminal_;
  std::int64_t plain_every_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace fi::cli
