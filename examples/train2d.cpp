// A short end-to-end use of the library alone: train the 2D checkerboard flow, sample it with
// Euler, score it and write a picture. Built as build/example_train2d.
#include <iostream>

#include "flowinone/core/heap_tuning.h"
#include "flowinone/core/runtime.h"
#include "flowinone/eval/metrics2d.h"
#include "flowinone/io/png.h"
#include "flowinone/train/trainer.h"
#include "flowinone/viz/plots2d.h"

int main() {
  fi::set_num_threads(0);  // one thread per core
  fi::keep_freed_memory_in_process();
  fi::RunConfig config = fi::load_preset("checkerboard");
  config.steps = 3000;
  fi::Trainer trainer(config, torch::kCPU);
  while (trainer.steps_done() < config.steps) trainer.step();

  fi::GenerationOptions options;  // Euler, 100 steps, t: 0 -> 1; seed 0
  auto samples = trainer.averaged_model()->sample(10000, /*labels=*/{}, options).x;
  auto metrics = fi::checkerboard_metrics(samples, fi::Checkerboard(4));
  fi::write_png("samples.png", fi::density_image(samples));
  std::cout << "in_square_fraction " << metrics.in_square_fraction << "\n";
  return metrics.in_square_fraction > 0.9 ? 0 : 1;
}
