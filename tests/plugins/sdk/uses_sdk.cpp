// SDK fixture that must compile: a complete plugin using every SDK header (plugin_abi.h,
// attention_variant.h, plugin/plugin_support.h, plugin/compose.h) and the kernels, built with
// the flags of attnlab_plugin_api alone (the CTest plugins_sdk_uses_sdk).
#include "attnlab/attention_variant.h"
#include "attnlab/kernels/attention.h"
#include "attnlab/kernels/cached_attention.h"
#include "attnlab/kernels/dynamic_mask.h"
#include "attnlab/kernels/flops.h"
#include "attnlab/kernels/head_threshold.h"
#include "attnlab/kernels/window.h"
#include "attnlab/plugin/compose.h"
#include "attnlab/plugin/plugin_support.h"
#include "attnlab/plugin_abi.h"

namespace {

class Causal : public attnlab::AttentionVariant {
 public:
  explicit Causal(const attnlab_layer_dims& dims) : dims_(dims) {}
  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const attnlab::AttentionContext&) override {
    return attnlab::kernels::causal_attention(q_BHTD, k_BKTD, v_BKTD, {});
  }
  attnlab::AttentionFlops flops(int64_t T) const override {
    const auto count = attnlab::kernels::attention_flops(T, attnlab::kernels::kDenseWindow,
                                                         dims_.n_head, dims_.head_dim);
    return {count.forward, count.backward};
  }

 private:
  attnlab_layer_dims dims_;
};

constexpr attnlab_option_spec kOptions[] = {
    {"scale", "float", "1.0", 0, 10, nullptr, "an option read through plugin::option"}};

attnlab::AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json& options) {
  (void)attnlab::plugin::option<double>(options, "scale");
  return new Causal(dims);
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor =
      attnlab::plugin::describe_plugin<make>("uses_sdk", "0.0.1", "SDK fixture", kOptions);
  return &descriptor;
}
