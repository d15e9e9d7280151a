// Plugin `dense`: causal softmax attention over every earlier token (the Qwen baseline).
#include "../common/kernel_variant.h"
#include "attnlab/plugin/plugin_support.h"

namespace {

attnlab::AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json&) {
  return new attnlab::plugins::KernelVariant(dims, {"dense", {}, false, {}});
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<make>(
      "dense", "1.0.0", "causal softmax attention over all earlier tokens (baseline)");
  return &descriptor;
}
