// What every fuzz target shares: the input as a string, and the contract it checks.
//
// A parser given hostile bytes may refuse them only with fi::FileError or std::invalid_argument
// (exit status 2 in the program). Anything else is a finding: a crash or sanitizer report, a
// hang or an allocation past libFuzzer's limits, or another exception (a LibTorch c10::Error, an
// std::bad_alloc, a stray std::out_of_range...), which would be an "internal failure" (exit 1)
// on input that is merely bad. Such an exception aborts here, so libFuzzer saves the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "flowinone/core/errors.h"

namespace fi::fuzz {

inline std::string as_string(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

/// Runs `parse`; returns normally when it succeeds or refuses the input as the contract allows.
template <typename Parse>
void expect_clean_refusal(Parse&& parse) {
  try {
    parse();
  } catch (const fi::FileError&) {
  } catch (const std::invalid_argument&) {
  } catch (const std::exception& error) {
    std::fprintf(stderr, "fuzz: unexpected exception: %s\n", error.what());
    std::abort();
  }
}

}  // namespace fi::fuzz
