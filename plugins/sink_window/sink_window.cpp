// Plugin `sink_window`: StreamingLLM's attention sinks (Xiao et al. 2023): query i sees the
// first `sinks` tokens and the sliding window i-w..i, in training and in decoding, through
// kernels::cached_attention (blocked by query: O(T·(w + sinks)), no T×T mask).
#include "../common/options.h"
#include "attnlab/attention_variant.h"
#include "attnlab/kernels/cached_attention.h"
#include "attnlab/kernels/flops.h"
#include "attnlab/plugin/plugin_support.h"

namespace {

using namespace attnlab;
using namespace attnlab::plugins;

constexpr attnlab_option_spec kSinksOption = {
    "sinks",
    "int",
    "4",
    0,
    kMaxLength,
    nullptr,
    "the first `sinks` tokens are visible to every query (the attention sinks)"};
constexpr attnlab_option_spec kOptions[] = {kWindowOption, kSinksOption};

class SinkWindow : public AttentionVariant {
 public:
  SinkWindow(const attnlab_layer_dims& dims, int64_t window, int64_t sinks)
      : dims_(dims), window_(window), sinks_(sinks) {
    if (dims.n_head <= 0 || dims.n_kv_head <= 0 || dims.n_head % dims.n_kv_head != 0) {
      throw std::invalid_argument("plugin sink_window: n_head (" + std::to_string(dims.n_head) +
                                  ") must be a positive multiple of n_kv_head (" +
                                  std::to_string(dims.n_kv_head) + ")");
    }
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                        const torch::Tensor& v_BKSD, const AttentionContext& ctx) override {
    const int64_t T = q_BHTD.size(2);
    kernels::CachedAttentionParams params;
    params.window = window_;
    params.n_sink = sinks_;
    params.key_offset = ctx.position_offset + T - k_BKSD.size(2);
    const int64_t end = ctx.position_offset + T;
    kept_fraction_ = kernels::sink_window_pairs(ctx.position_offset, end, window_, sinks_) /
                     std::max(1.0, kernels::sink_window_pairs(ctx.position_offset, end,
                                                              kernels::kDenseWindow, 0));
    return kernels::cached_attention(q_BHTD, k_BKSD, v_BKSD, params);
  }

  // attention_flops of the window scaled by the pairs the sinks add.
  AttentionFlops flops(int64_t T) const override {
    const auto count = kernels::attention_flops(T, window_, dims_.n_head, dims_.head_dim);
    const double window_pairs = kernels::visible_pairs(T, window_);
    const double ratio =
        window_pairs > 0 ? kernels::sink_window_pairs(0, T, window_, sinks_) / window_pairs : 0.0;
    return {count.forward * ratio, count.backward * ratio};
  }

  bool supports_decoding() const override { return true; }

  // The sinks stay visible forever, so the cache keeps every key (a rolling cache would need
  // the sinks kept apart); without sinks the window bounds the reach.
  int64_t kv_reach() const override { return sinks_ == 0 ? window_ : kUnboundedReach; }

  std::vector<VariantStatistic> statistics() const override {
    if (kept_fraction_ < 0) return {};
    return {{"kept_fraction", torch::tensor(kept_fraction_, torch::kDouble), 0.0, 1.0}};
  }

 private:
  attnlab_layer_dims dims_;
  int64_t window_, sinks_;
  double kept_fraction_ = -1.0;  // < 0 before the first forward
};

AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json& options) {
  return new SinkWindow(dims, plugin::option<int64_t>(options, kWindowOption.name),
                        plugin::option<int64_t>(options, kSinksOption.name));
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<make>(
      "sink_window", "1.0.0",
      "StreamingLLM: the first `sinks` tokens plus the sliding window i-w..i (attention sinks)",
      kOptions);
  return &descriptor;
}
