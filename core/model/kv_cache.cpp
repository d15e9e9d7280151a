// The KV cache (kv_cache.h): concatenate the new positions to the kept ones, hand both to the
// attention, keep the last `reach` for the next step.
#include "attnlab/model/kv_cache.h"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "attnlab/attention_variant.h"

namespace attnlab::model {

LayerKVCache::LayerKVCache(int64_t reach) : reach_(reach) {
  if (reach < 0 && reach != kUnboundedReach) {
    throw std::invalid_argument("LayerKVCache: reach must be >= 0 or kUnboundedReach, got " +
                                std::to_string(reach));
  }
}

std::pair<torch::Tensor, torch::Tensor> LayerKVCache::append(const torch::Tensor& k_BKTD,
                                                             const torch::Tensor& v_BKTD) {
  auto k_BKSD = k_BKSD_.defined() ? torch::cat({k_BKSD_, k_BKTD}, 2) : k_BKTD;
  auto v_BKSD = v_BKSD_.defined() ? torch::cat({v_BKSD_, v_BKTD}, 2) : v_BKTD;
  const int64_t S = k_BKSD.size(2);
  bytes_per_position_ = 2 * k_BKTD.size(1) * k_BKTD.size(3) * k_BKTD.element_size();
  peak_positions_ = std::max(peak_positions_, S);
  peak_bytes_ = std::max<int64_t>(peak_bytes_, k_BKSD.nbytes() + v_BKSD.nbytes());
  const int64_t keep = reach_ == kUnboundedReach ? S : std::min(S, reach_);
  k_BKSD_ = k_BKSD.narrow(2, S - keep, keep);
  v_BKSD_ = v_BKSD.narrow(2, S - keep, keep);
  return {k_BKSD, v_BKSD};
}

int64_t LayerKVCache::kept_positions() const { return k_BKSD_.defined() ? k_BKSD_.size(2) : 0; }

KVCache::KVCache(const std::vector<int64_t>& reach_L) {
  for (const int64_t reach : reach_L) layers_.emplace_back(reach);
}

bool KVCache::is_rolling() const {
  return std::any_of(layers_.begin(), layers_.end(),
                     [](const LayerKVCache& l) { return l.reach() != kUnboundedReach; });
}

int64_t KVCache::bytes_per_token() const {
  int64_t total = 0;
  for (const auto& l : layers_) total += l.bytes_per_position();
  return total;
}

int64_t KVCache::peak_bytes() const {
  int64_t total = 0;
  for (const auto& l : layers_) total += l.peak_bytes();
  return total;
}

}  // namespace attnlab::model
