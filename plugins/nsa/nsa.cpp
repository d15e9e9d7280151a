// Plugin `nsa`: Native Sparse Attention (Yuan et al. 2025). Compressed blocks, the top-n
// selection blocks they point at (shared per kv head) and a sliding window, mixed by per-head
// sigmoid gates of x. The math lives in kernels/nsa.h; this file owns the options and the
// parameters (the key/value compression and the gates).
#include "attnlab/kernels/nsa.h"

#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "../common/options.h"
#include "attnlab/attention_variant.h"
#include "attnlab/plugin/plugin_support.h"

namespace {

using namespace attnlab;

constexpr attnlab_option_spec kOptions[] = {
    {"block_length", "int", "16", 1, plugins::kMaxLength, nullptr,
     "l: keys per compressed block (block i covers positions i*stride .. i*stride + l - 1)"},
    {"stride", "int", "8", 1, plugins::kMaxLength, nullptr,
     "d: distance between compressed blocks, at most block_length"},
    {"select_block", "int", "16", 1, plugins::kMaxLength, nullptr,
     "l': tokens per selection block"},
    {"top_n", "int", "4", 2, plugins::kMaxLength, nullptr,
     "selection blocks per query, block 0 and the query's own block included"},
    {"sliding_window", "int", "64", 0, plugins::kMaxLength, nullptr,
     "the window branch: query t sees keys t-sliding_window..t"},
    {"compress_init_std", "float", "0.0", 0, 10, nullptr,
     "the compression starts as the mean of the block plus N(0, std^2) noise on W and pos"},
    plugins::kGateWeightStdOption,
    plugins::kGateBiasOption};

class NsaVariant : public AttentionVariant {
 public:
  NsaVariant(const attnlab_layer_dims& dims, const nlohmann::json& options) : dims_(dims) {
    params_.block_length = plugin::option<int64_t>(options, "block_length");
    params_.stride = plugin::option<int64_t>(options, "stride");
    params_.select_block = plugin::option<int64_t>(options, "select_block");
    params_.top_n = plugin::option<int64_t>(options, "top_n");
    params_.window = plugin::option<int64_t>(options, "sliding_window");
    if (dims.n_head <= 0 || dims.n_kv_head <= 0 || dims.n_head % dims.n_kv_head != 0 ||
        dims.head_dim <= 0 || dims.d_model <= 0) {
      fail("n_head must be a positive multiple of n_kv_head, head_dim and d_model > 0");
    }
    if (params_.stride > params_.block_length) {
      fail("attention.options.stride (" + std::to_string(params_.stride) +
           ") must be at most attention.options.block_length (" +
           std::to_string(params_.block_length) + ")");
    }
    const double compress_std = plugin::option<double>(options, "compress_init_std");
    weights_.k_weight_KDF = add_compression("compress_k_weight", compress_std);
    weights_.v_weight_KDF = add_compression("compress_v_weight", compress_std);
    weights_.v_position_KLD = register_parameter(
        "compress_v_position", torch::zeros({dims.n_kv_head, params_.block_length, dims.head_dim}));
    const auto init = plugins::read_gate_init(options);
    weights_.gate_weight_GC =
        register_parameter("gate_weight", torch::zeros({3 * dims.n_head, dims.d_model}));
    weights_.gate_bias_G =
        register_parameter("gate_bias", torch::full({3 * dims.n_head}, init.bias));
    torch::NoGradGuard no_grad;
    if (compress_std > 0) weights_.v_position_KLD.normal_(0.0, compress_std);
    if (init.weight_std > 0) weights_.gate_weight_GC.normal_(0.0, init.weight_std);
  }

  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const AttentionContext& ctx) override {
    if (ctx.position_offset != 0 || k_BKTD.dim() != 4 || k_BKTD.size(2) != q_BHTD.size(2)) {
      fail("decoding with a KV cache is not supported; run full sequences (S == T, offset 0)");
    }
    if (!ctx.x_BTC || !ctx.x_BTC->defined()) {
      fail("the gates need the layer input: AttentionContext.x_BTC is not set");
    }
    auto out = kernels::nsa_attention(q_BHTD, k_BKTD, v_BKTD, *ctx.x_BTC, weights_, params_);
    gate_BT3H_ = out.gate_BT3H;
    kept_fraction_ = out.kept_fraction;
    return out.y_BHTD;
  }

  AttentionFlops flops(int64_t T) const override {
    const auto count = kernels::nsa_flops(T, params_, dims_.n_head, dims_.n_kv_head, dims_.head_dim,
                                          dims_.d_model);
    return {count.forward, count.backward};
  }

  // The mean of the three branch gates of each head.
  torch::Tensor last_gate_BTH() const override {
    return gate_BT3H_.defined() ? gate_BT3H_.mean(2) : torch::Tensor();
  }

  std::vector<VariantStatistic> statistics() const override {
    if (!gate_BT3H_.defined()) return {};
    const auto mean_3 = gate_BT3H_.to(torch::kDouble).mean(torch::IntArrayRef{0, 1, 3});
    return {{"selected_fraction", kept_fraction_, 0.0, 1.0},
            {"gate_compressed", mean_3[0], 0.0, 1.0},
            {"gate_selected", mean_3[1], 0.0, 1.0},
            {"gate_window", mean_3[2], 0.0, 1.0}};
  }

  std::string parameter_group(const std::string& name) const override {
    return name.rfind("gate_", 0) == 0 ? "gate" : "";
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::invalid_argument("plugin nsa: " + what);
  }

  // W [K, D, l·D] starting as the mean of the block's rows, plus N(0, std²) noise.
  torch::Tensor add_compression(const std::string& name, double std) {
    const int64_t K = dims_.n_kv_head, D = dims_.head_dim, L = params_.block_length;
    auto weight_KDF = (torch::eye(D).repeat({1, L}) / static_cast<double>(L)).repeat({K, 1, 1});
    if (std > 0) weight_KDF += torch::randn_like(weight_KDF) * std;
    return register_parameter(name, weight_KDF);
  }

  attnlab_layer_dims dims_;
  kernels::NsaParams params_;
  kernels::NsaWeights weights_;
  torch::Tensor gate_BT3H_, kept_fraction_;
};

}  // namespace

extern "C" const attnlab_plugin_descriptor* attnlab_plugin_entry(void) {
  static const auto descriptor =
      attnlab::plugin::describe_plugin<attnlab::plugin::construct<NsaVariant>>(
          "nsa", "1.0.0",
          "native sparse attention: compressed blocks, the top-n blocks they select (shared per kv "
          "head) and a sliding window, mixed by per-head sigmoid gates (Yuan et al. 2025)",
          kOptions);
  return &descriptor;
}
