// A random engine with a fresh seed per test; log `seed` (INFO) to reproduce a failure.
#pragma once
#include <random>

namespace attnlab::reports::testing {

struct FreshRng {
  unsigned seed = std::random_device{}();
  std::mt19937 engine{seed};
};

}  // namespace attnlab::reports::testing
