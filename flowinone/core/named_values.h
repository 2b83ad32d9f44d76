// Closed sets of named values: solvers, paths, couplings, activations, flow kinds, masks, ...
//
// Each enum writes its names once, in one table:
//
//   constexpr NamedValue<SolverKind> kSolverNames[] = {{SolverKind::kEuler, "euler"}, ...};
//
// and its parser, its printer and the "valid: ..." list of its error message are built from that
// table, so the three can never disagree:
//
//   parse_named(kSolverNames, text, "solver")
//       throws "[parse_solver] unknown solver 'x' (valid: euler, midpoint, rk4, dopri5)"
//   name_of(kSolverNames, kind)    "euler"
//   valid_names(kSolverNames)      "euler, midpoint, rk4, dopri5"
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace fi {

template <typename Enum>
struct NamedValue {
  Enum value;
  const char* name;
};

/// The table's names joined by ", ", in table order.
template <typename Enum, std::size_t N>
std::string valid_names(const NamedValue<Enum> (&table)[N]) {
  std::string names;
  for (const auto& entry : table) names += (names.empty() ? "" : ", ") + std::string(entry.name);
  return names;
}

/// The value named `name`; throws std::invalid_argument
/// "[parse_what] unknown what 'name' (valid: ...)" (spaces in `what` become '_' in the bracket).
template <typename Enum, std::size_t N>
Enum parse_named(const NamedValue<Enum> (&table)[N], const std::string& name, const char* what) {
  for (const auto& entry : table) {
    if (name == entry.name) return entry.value;
  }
  std::string operation = std::string("parse_") + what;
  for (char& c : operation) c = c == ' ' ? '_' : c;
  throw std::invalid_argument("[" + operation + "] unknown " + what + " '" + name +
                              "' (valid: " + valid_names(table) + ")");
}

/// The name of `value`; throws std::invalid_argument for a value missing from the table.
template <typename Enum, std::size_t N>
std::string name_of(const NamedValue<Enum> (&table)[N], Enum value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  throw std::invalid_argument("[name_of] value " + std::to_string(static_cast<long long>(value)) +
                              " is missing from its name table");
}

}  // namespace fi
