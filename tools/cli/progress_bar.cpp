#include "progress_bar.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace fi::cli {

namespace {
std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60,
                  total % 60);
  } else {
    std::snprintf(text, sizeof text, "%02ld:%02ld", total / 60, total % 60);
  }
  return text;
}
}  // namespace

ProgressBar::ProgressBar(std::int64_t plain_every)
    : terminal_(::isatty(STDERR_FILENO) == 1), plain_every_(plain_every > 0 ? plain_every : 1) {}

void ProgressBar::update(const TrainProgress& p) {
  const double fraction = p.total_steps > 0 ? double(p.step) / double(p.total_steps) : 1.0;
  const double eta = p.steps_per_second > 0 ? (p.total_steps - p.step) / p.steps_per_second : -1;
  const bool last = p.step == p.total_steps;
  if (terminal_) {
    const auto now = std::chrono::steady_clock::now();
    if (!last && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    drawn_ = true;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar += std::string(kWidth - filled, '.');
    std::fprintf(stderr, "\r[%s] %3.0f%% %lld/%lld  loss %.4f  lr %.2e  %.0f it/s  ETA %s   ",
                 bar.c_str(), 100.0 * fraction, static_cast<long long>(p.step),
                 static_cast<long long>(p.total_steps), p.loss, p.learning_rate, p.steps_per_second,
                 format_duration(eta).c_str());
    std::fflush(stderr);
  } else if (p.step % plain_every_ == 0 || last) {
    std::fprintf(stderr,
                 "step %lld/%lld loss %.5f lr %.3e grad_norm %.3f %.1f it/s elapsed %s ETA %s\n",
                 static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.loss,
                 p.learning_rate, p.grad_norm, p.steps_per_second,
                 format_duration(p.elapsed_seconds).c_str(), format_duration(eta).c_str());
  }
}

void ProgressBar::finish() {
  if (terminal_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace fi::cli
