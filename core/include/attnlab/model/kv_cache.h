// The decoder's KV cache for generation: per layer, the keys (after QK-norm and RoPE) and
// values of the positions decoded so far, exactly as the attention layer hands them to its
// variant. A layer whose variant has a bounded reach w (AttentionVariant::kv_reach) keeps only
// the last w positions between steps, so a one-token step attends over w + 1 keys: a rolling
// cache of kv_reach() + 1 entries whose memory is O(w), whatever the length generated. A layer
// with kUnboundedReach keeps every position.
// Built by DecoderImpl::make_kv_cache, filled by DecoderImpl::forward_cached.
//
// Shape legend: B batch, K kv heads, S positions held, T new positions, D head dim.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace attnlab::model {

class LayerKVCache {
 public:
  // reach: the layer variant's kv_reach() (kUnboundedReach or w >= 0).
  explicit LayerKVCache(int64_t reach);

  // Appends the T new positions and returns (k_BKSD, v_BKSD): the kept positions followed by
  // the new ones, what the new queries read (S = kept + T). Then keeps only the last `reach`
  // of them when the reach is bounded. Records the bytes held during the step for peak_bytes.
  std::pair<torch::Tensor, torch::Tensor> append(const torch::Tensor& k_BKTD,
                                                 const torch::Tensor& v_BKTD);

  int64_t reach() const { return reach_; }
  // Positions kept between steps (at most reach() when bounded).
  int64_t kept_positions() const;
  // The most positions held at once: kept + new of the largest step so far.
  int64_t peak_positions() const { return peak_positions_; }
  // Bytes of keys and values of one position of one sequence (2·K·D·element size); 0 before
  // the first append.
  int64_t bytes_per_position() const { return bytes_per_position_; }
  // The most bytes of keys and values held at once (all sequences of the batch).
  int64_t peak_bytes() const { return peak_bytes_; }

 private:
  int64_t reach_;
  torch::Tensor k_BKSD_, v_BKSD_;  // undefined until the first append
  int64_t peak_positions_ = 0, bytes_per_position_ = 0, peak_bytes_ = 0;
};

class KVCache {
 public:
  // One layer cache per entry of reach_L (each layer's kv_reach()).
  explicit KVCache(const std::vector<int64_t>& reach_L);

  int64_t n_layer() const { return static_cast<int64_t>(layers_.size()); }
  LayerKVCache& layer(int64_t l) { return layers_.at(static_cast<size_t>(l)); }
  const LayerKVCache& layer(int64_t l) const { return layers_.at(static_cast<size_t>(l)); }
  // Tokens decoded so far: the absolute position of the next one (its position_offset).
  int64_t position() const { return position_; }
  void advance(int64_t tokens) { position_ += tokens; }
  // True when some layer keeps a bounded number of positions.
  bool is_rolling() const;

  // Summed over layers: bytes of keys and values per position of one sequence, and the most
  // bytes held at once (the layers step together, so their peaks coincide).
  int64_t bytes_per_token() const;
  int64_t peak_bytes() const;

 private:
  std::vector<LayerKVCache> layers_;
  int64_t position_ = 0;
};

}  // namespace attnlab::model
