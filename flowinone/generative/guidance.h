// Conditional velocities as solver callbacks, and classifier-free guidance (Ho and Salimans
// 2022, "Classifier-free diffusion guidance"; for flow matching, Zheng et al. 2023):
//
//   v_w(x, t) = v(x, t, uncond) + w (v(x, t, cond) - v(x, t, uncond))
//
// w = 0 is the unconditional velocity, w = 1 the conditional one (each one plain forward, so
// exactly equal to it); any other w evaluates both halves in one batched forward of 2B, which
// counts as one velocity evaluation (nfe) for the solver. The unconditional condition is usually
// the conditional one with its labels replaced by the null class (null_labels), the model having
// been trained with label dropout.
#pragma once

#include "flowinone/models/velocity_model.h"
#include "flowinone/solvers/ode.h"

namespace fi {

/// The condition with its labels set to the null class (-1, same shape); the image is kept.
/// Without labels, the labels stay undefined (which conditional models read as null too).
Conditioning null_labels(const Conditioning& cond);

/// The condition with nothing in it: labels set to the null class and the image (if any) to all
/// zeros, the blank input that training's input dropout shows the model.
Conditioning null_condition(const Conditioning& cond);

/// v(x, t, cond) as a solver callback: t broadcast to (B), evaluated without gradients on the
/// model's device (x is moved there and the velocity back). cond's batch must match x's.
VelocityFn conditional_velocity(const VelocityModelPtr& model, const Conditioning& cond);

/// v_w above. cond and uncond must have the same fields defined (labels undefined on one side
/// are read as null labels), and `weight` must be finite. Throws std::invalid_argument.
VelocityFn guided_velocity(const VelocityModelPtr& model, const Conditioning& cond,
                           const Conditioning& uncond, double weight);

/// Classifier-free guidance on class labels (B) int64: guided_velocity(model, {labels},
/// null_labels({labels}), weight).
VelocityFn classifier_free_guidance(const VelocityModelPtr& model, const torch::Tensor& labels,
                                    double weight);

}  // namespace fi
