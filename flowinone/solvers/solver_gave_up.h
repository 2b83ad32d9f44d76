// The adaptive solver stopped short: dopri5 spent its budget of velocity evaluations (max_nfe),
// its step shrank below what a double resolves, or its state became non-finite. The settings'
// outcome (tolerances, budget, the model), not a bug: the program reports it as an error with a
// hint (exit 2), the server as 422, never as an "internal failure". Its own header, so that the
// callers need no LibTorch header for it.
#pragma once

#include <stdexcept>
#include <string>

namespace fi {

class SolverGaveUp : public std::runtime_error {
 public:
  explicit SolverGaveUp(const std::string& message)
      : std::runtime_error(message +
                           " (a fixed-step solver, euler, midpoint or rk4, always finishes; or "
                           "loosen rtol and atol)") {}
};

}  // namespace fi
