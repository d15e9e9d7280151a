// Plugin `hybrid`: the first `dense_heads` query heads (and their kv heads) run dense causal
// attention; the remaining heads run another plugin (`inner`, created through the plugin ABI
// with attnlab/plugin/compose.h), registered as submodule "inner" so its parameters train.
#include "../common/kernel_variant.h"
#include "attnlab/plugin/compose.h"
#include "attnlab/plugin/plugin_support.h"

namespace {

using namespace attnlab;
using namespace attnlab::plugins;

constexpr attnlab_option_spec kOptions[] = {
    {"dense_heads", "int", "0", 0, 1 << 20, nullptr,
     "the first dense_heads query heads attend densely (a multiple of n_head / n_kv_head); "
     "0: half the kv-head groups, rounded down, at least one"},
    {"inner", "string", "\"gated_window\"", 0, 0, nullptr,
     "the plugin (in the same directory) computing the remaining heads"},
    {"inner_options", "string", "\"{}\"", 0, 0, nullptr,
     "the inner plugin's options as JSON object text"}};

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("plugin hybrid: " + what);
}

// The dims of the first `heads` query heads and their kv heads.
attnlab_layer_dims dense_dims(const attnlab_layer_dims& dims, int64_t heads) {
  if (dims.n_kv_head <= 0 || dims.n_head % dims.n_kv_head != 0)
    fail("n_head must be a positive multiple of n_kv_head");
  const int64_t group = dims.n_head / dims.n_kv_head;
  if (heads == 0) heads = std::max<int64_t>(1, dims.n_kv_head / 2) * group;
  if (heads <= 0 || heads >= dims.n_head) {
    fail("attention.options.dense_heads must be in [1, n_head - 1] = [1, " +
         std::to_string(dims.n_head - 1) + "] so both parts have heads, got " +
         std::to_string(heads));
  }
  if (heads % group != 0) {
    fail("attention.options.dense_heads (" + std::to_string(heads) +
         ") must be a multiple of the GQA group n_head / n_kv_head = " + std::to_string(group) +
         " so no kv head is split between the parts");
  }
  attnlab_layer_dims d = dims;
  d.n_head = heads;
  d.n_kv_head = heads / group;
  return d;
}

attnlab_layer_dims rest_dims(const attnlab_layer_dims& dims, const attnlab_layer_dims& dense) {
  attnlab_layer_dims d = dims;
  d.n_head -= dense.n_head;
  d.n_kv_head -= dense.n_kv_head;
  return d;
}

class Hybrid : public AttentionVariant {
 public:
  Hybrid(const attnlab_layer_dims& dims, int64_t dense_heads, const std::string& inner,
         const std::string& inner_options)
      : dense_dims_(dense_dims(dims, dense_heads)),
        dense_(std::make_shared<KernelVariant>(dense_dims_,
                                               KernelVariantConfig{"hybrid", {}, false, {}})) {
    if (inner == "hybrid") fail("attention.options.inner cannot be hybrid itself");
    inner_ = register_module(
        "inner", plugin::create_sibling_variant(&kOptions, inner, rest_dims(dims, dense_dims_),
                                                inner_options, "attention.options.inner_options"));
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKSD,
                        const torch::Tensor& v_BKSD, const AttentionContext& ctx) override {
    const int64_t h = dense_dims_.n_head, k = dense_dims_.n_kv_head;
    const auto rest = [](const torch::Tensor& t, int64_t n) {
      return t.narrow(1, n, t.size(1) - n);
    };
    const auto y_dense = dense_->forward(q_BHTD.narrow(1, 0, h), k_BKSD.narrow(1, 0, k),
                                         v_BKSD.narrow(1, 0, k), ctx);
    const auto y_inner = inner_->forward(rest(q_BHTD, h), rest(k_BKSD, k), rest(v_BKSD, k), ctx);
    return torch::cat({y_dense, y_inner}, 1);
  }

  AttentionFlops flops(int64_t T) const override {
    const auto a = dense_->flops(T), b = inner_->flops(T);
    return {a.forward + b.forward, a.backward + b.backward};
  }

  // The inner gate with the dense heads' gate 1 (they are not gated), or undefined.
  torch::Tensor last_gate_BTH() const override {
    const auto g_BTH = inner_->last_gate_BTH();
    if (!g_BTH.defined()) return {};
    return torch::cat(
        {torch::ones({g_BTH.size(0), g_BTH.size(1), dense_dims_.n_head}, g_BTH.options()), g_BTH},
        2);
  }

  bool supports_decoding() const override { return inner_->supports_decoding(); }
  torch::Tensor aux_loss() const override { return inner_->aux_loss(); }

  std::vector<VariantStatistic> statistics() const override {
    auto stats = inner_->statistics();
    for (auto& s : stats) s.name = "inner_" + s.name;
    return stats;
  }

  std::string parameter_group(const std::string& parameter_name) const override {
    const std::string prefix = "inner.";
    if (parameter_name.compare(0, prefix.size(), prefix) != 0) return "";
    return inner_->parameter_group(parameter_name.substr(prefix.size()));
  }

 private:
  attnlab_layer_dims dense_dims_;
  std::shared_ptr<KernelVariant> dense_;  // dense causal attention, cached when decoding
  std::shared_ptr<AttentionVariant> inner_;
};

AttentionVariant* make(const attnlab_layer_dims& dims, const nlohmann::json& options) {
  return new Hybrid(dims, plugin::option<int64_t>(options, "dense_heads"),
                    plugin::option<std::string>(options, "inner"),
                    plugin::option<std::string>(options, "inner_options"));
}

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor = attnlab::plugin::describe_plugin<make>(
      "hybrid", "1.0.0",
      "the first dense_heads heads dense, the rest computed by another plugin (inner)", kOptions);
  return &descriptor;
}
