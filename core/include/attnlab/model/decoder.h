// The Qwen3-style decoder: token embedding (tied with the LM head), n_layer pre-RMSNorm
// blocks of attention + SwiGLU, final RMSNorm, LM head; cached decoding for generation.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "attnlab/model/attention_layer.h"
#include "attnlab/model/kv_cache.h"
#include "attnlab/model/model_config.h"
#include "attnlab/model/rmsnorm.h"
#include "attnlab/model/swiglu.h"

namespace attnlab::model {

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const ModelConfig& config, int64_t layer_index, const VariantFactory& make);
  torch::Tensor forward(const torch::Tensor& x_BTC);
  torch::Tensor forward_cached(const torch::Tensor& x_BTC, LayerKVCache& cache,
                               int64_t position_offset);

  RMSNorm attn_norm{nullptr}, mlp_norm{nullptr};
  AttentionLayer attn{nullptr};
  SwiGLU mlp{nullptr};

 private:
  torch::Tensor mlp_residual(const torch::Tensor& h_BTC);  // h + mlp(mlp_norm(h))
};
TORCH_MODULE(Block);

class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const ModelConfig& config, const VariantFactory& make);
  // idx_BT (int64 token ids) -> logits_BTV
  torch::Tensor forward(const torch::Tensor& idx_BT);
  // The logits of the last n positions only, [B, n, V] (the LM head runs on those alone):
  // what forward(idx_BT) computes there, for scoring a continuation without [B, T, V].
  torch::Tensor forward_tail(const torch::Tensor& idx_BT, int64_t n);
  // Mean next-token cross-entropy of targets_BT given idx_BT, through the chunked LM head
  // (chunked_lm_loss.h): the [B·T, V] logits and their gradient are never whole in memory.
  torch::Tensor loss(const torch::Tensor& idx_BT, const torch::Tensor& targets_BT);
  // Generation (kv_cache.h). An empty cache for this model, one layer cache of each layer's
  // kv_reach(); throws std::invalid_argument naming `plugin_name` (the variant's plugin, for
  // the message) when a layer's variant does not support_decoding().
  KVCache make_kv_cache(const std::string& plugin_name) const;
  // idx_BT: the T tokens after the cache.position() tokens already in `cache` -> logits_BTV
  // at their positions (what forward() over the whole sequence computes there); appends their
  // keys and values to the cache and advances it. Use in eval mode (sigmaReparam's training
  // mode steps its power iteration on every forward).
  torch::Tensor forward_cached(const torch::Tensor& idx_BT, KVCache& cache);
  const ModelConfig& config() const { return config_; }
  // Seeded init: normal(0, init_std) for matrices, output projections scaled by 1/sqrt(2L);
  // norms at one. Variant parameters keep the plugin's own init. Under sigma_reparam, then
  // each linear's γ, u, v from its drawn weight (sigma_reparam.h; no RNG draw).
  void reset_parameters();
  // Attention FLOPs of one sequence of T tokens through every layer, forward plus backward,
  // as each layer's variant counts them (AttentionVariant::flops).
  double attention_flops(int64_t T) const;
  // Per layer, per head: the mean over batch and tokens of the gate activations of the last
  // forward (AttentionVariant::last_gate_BTH). Empty unless every layer reports gates.
  std::vector<std::vector<double>> gate_activations() const;
  // Attention entropy (AttentionLayerImpl::set_measure_entropy) on or off in every layer.
  void set_measure_entropy(bool on);
  // Per layer: its last measured entropy, a detached fp32 scalar; undefined when not measured.
  std::vector<torch::Tensor> attention_entropy() const;
  // What the variants did in the last forward (variant_reports.cpp):
  // the sum over layers of their auxiliary losses, differentiable; undefined when none has one.
  torch::Tensor aux_loss() const;
  // Per statistic name, in the order first reported: its value in each layer (nullopt where a
  // layer did not report it), with "entropy" from the layers when it was measured. Reads the
  // values back to the host: call it at the log interval, not every step.
  std::vector<std::pair<std::string, std::vector<std::optional<double>>>> attention_statistics()
      const;
  // The variants' parameters that they put in a named optimizer group, as (group, parameter).
  std::vector<std::pair<std::string, torch::Tensor>> grouped_parameters() const;
  // Gate self-distillation (AttentionVariant::gate_distillation; train.distill_gate):
  // whether every layer's variant supports it, switching it on or off in every layer, and the
  // mean over layers of the last forward's loss (differentiable) and recall (detached). Throws
  // std::logic_error when an enabled layer returned no loss.
  bool supports_gate_distillation() const;
  void set_gate_distillation(bool on);
  GateDistillation gate_distillation() const;

  torch::nn::Embedding embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  RMSNorm final_norm{nullptr};
  torch::nn::Linear lm_head{nullptr};  // only when embeddings are not tied

 private:
  torch::Tensor hidden(const torch::Tensor& idx_BT);
  torch::Tensor logits(const torch::Tensor& h_BTC);  // the LM head
  ModelConfig config_;
};
TORCH_MODULE(Decoder);

}  // namespace attnlab::model
