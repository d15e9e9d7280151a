// Model FLOPs utilisation (MFU): the fraction of a machine's peak FLOP/s that a model's
// training FLOPs per token at a measured tokens/s amount to. The peak comes from
// attnlab/bench/peak_flops.h (declared, cached or probed).
#pragma once

#include <stdexcept>
#include <string>

namespace attnlab::train {

// flops_per_token * tokens_per_s / peak_flops. Throws std::invalid_argument for a
// non-positive peak.
inline double model_flops_utilisation(double flops_per_token, double tokens_per_s,
                                      double peak_flops) {
  if (!(peak_flops > 0)) {
    throw std::invalid_argument("peak FLOP/s must be positive, got " + std::to_string(peak_flops));
  }
  return flops_per_token * tokens_per_s / peak_flops;
}

}  // namespace attnlab::train
