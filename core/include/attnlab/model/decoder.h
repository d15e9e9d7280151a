// The Qwen3-style decoder: token embedding (tied with the LM head), n_layer pre-RMSNorm
// blocks of attention + SwiGLU, final RMSNorm, LM head.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "attnlab/model/attention_layer.h"
#include "attnlab/model/model_config.h"
#include "attnlab/model/rmsnorm.h"
#include "attnlab/model/swiglu.h"

namespace attnlab::model {

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const ModelConfig& config, int64_t layer_index, const VariantFactory& make);
  torch::Tensor forward(const torch::Tensor& x_BTC);

  RMSNorm attn_norm{nullptr}, mlp_norm{nullptr};
  AttentionLayer attn{nullptr};
  SwiGLU mlp{nullptr};
};
TORCH_MODULE(Block);

class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const ModelConfig& config, const VariantFactory& make);
  // idx_BT (int64 token ids) -> logits_BTV
  torch::Tensor forward(const torch::Tensor& idx_BT);
  // Mean next-token cross-entropy of targets_BT given idx_BT, through the chunked LM head
  // (chunked_lm_loss.h): the [B·T, V] logits and their gradient are never whole in memory.
  torch::Tensor loss(const torch::Tensor& idx_BT, const torch::Tensor& targets_BT);
  const ModelConfig& config() const { return config_; }
  // Seeded init: normal(0, init_std) for matrices, output projections scaled by 1/sqrt(2L);
  // norms at one. Variant parameters keep the plugin's own init.
  void reset_parameters();
  // Attention FLOPs of one sequence of T tokens through every layer, forward plus backward,
  // as each layer's variant counts them (AttentionVariant::flops).
  double attention_flops(int64_t T) const;
  // Per layer, per head: the mean over batch and tokens of the gate activations of the last
  // forward (AttentionVariant::last_gate_BTH). Empty unless every layer reports gates.
  std::vector<std::vector<double>> gate_activations() const;

  torch::nn::Embedding embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  RMSNorm final_norm{nullptr};
  torch::nn::Linear lm_head{nullptr};  // only when embeddings are not tied

 private:
  torch::Tensor hidden(const torch::Tensor& idx_BT);
  ModelConfig config_;
};
TORCH_MODULE(Decoder);

}  // namespace attnlab::model
