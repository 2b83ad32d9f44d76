// Pictures of 2D flows: sample densities, particle trajectories, vector fields, animations.
//
// All plots show the square [-extent, extent]^2 with y pointing up; points are (N, 2) CPU or
// device tensors (copied to the CPU). Colors follow a perceptual map (viridis-like) on white.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "flowinone/io/image.h"
#include "flowinone/solvers/ode.h"

namespace fi {

struct PlotOptions {
  double extent = 4.5;  // plot [-extent, extent]^2
  int size = 512;       // output width and height in pixels
};

/// 2D histogram of `points` as a heat map (log-scaled counts), RGB.
Image density_image(const torch::Tensor& points, const PlotOptions& options = {});

/// Images placed left to right with a small white gap; heights must match. `titles`, when given
/// (one per image), are written above each in a small bitmap font.
Image side_by_side(const std::vector<Image>& images, const std::vector<std::string>& titles = {});

/// Images placed top to bottom with a small white gap, left-aligned on white; widths may differ.
Image stacked_vertically(const std::vector<Image>& images);

/// Paths of particles: `trajectory` is a list of (N, 2) states at increasing times; each particle
/// is a thin gray line, start points in blue and end points in red/orange.
Image trajectories_image(const std::vector<torch::Tensor>& trajectory,
                         const PlotOptions& options = {});

/// The velocity field at time t as arrows on a grid_size x grid_size grid, colored by speed;
/// arrow lengths are scaled so the longest is about one grid cell.
Image vector_field_image(const VelocityFn& velocity, double t, int grid_size = 24,
                         const PlotOptions& options = {});

/// One frame per state of `trajectory`: the particles as dots, with a time bar; for flow.gif.
std::vector<Image> flow_frames(const std::vector<torch::Tensor>& trajectory,
                               const std::vector<double>& times, const PlotOptions& options = {});

}  // namespace fi
