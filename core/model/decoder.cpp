// Decoder blocks and the full model.
#include "attnlab/model/decoder.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#include "attnlab/model/chunked_lm_loss.h"

namespace attnlab::model {

BlockImpl::BlockImpl(const ModelConfig& c, int64_t layer_index, const VariantFactory& make) {
  attn_norm = register_module("attn_norm", RMSNorm(c.d_model, c.norm_eps));
  attn = register_module("attn", AttentionLayer(c, layer_index, make));
  mlp_norm = register_module("mlp_norm", RMSNorm(c.d_model, c.norm_eps));
  mlp = register_module("mlp", SwiGLU(c.d_model, c.ffn_hidden, c.sigma_reparam));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x_BTC) {
  return mlp_residual(x_BTC + attn(attn_norm(x_BTC)));
}

torch::Tensor BlockImpl::forward_cached(const torch::Tensor& x_BTC, LayerKVCache& cache,
                                        int64_t position_offset) {
  return mlp_residual(x_BTC + attn->forward_cached(attn_norm(x_BTC), cache, position_offset));
}

torch::Tensor BlockImpl::mlp_residual(const torch::Tensor& h_BTC) {
  return h_BTC + mlp(mlp_norm(h_BTC));
}

DecoderImpl::DecoderImpl(const ModelConfig& c, const VariantFactory& make) : config_(c) {
  embed = register_module("embed", torch::nn::Embedding(c.vocab_size, c.d_model));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t l = 0; l < c.n_layer; ++l) blocks->push_back(Block(c, l, make));
  final_norm = register_module("final_norm", RMSNorm(c.d_model, c.norm_eps));
  if (!c.tie_embeddings) {
    lm_head = register_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(c.d_model, c.vocab_size).bias(false)));
  }
  reset_parameters();
}

void DecoderImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const double std = config_.init_std;
  const double out_std = std / std::sqrt(2.0 * config_.n_layer);
  embed->weight.normal_(0.0, std);
  if (lm_head) lm_head->weight.normal_(0.0, std);
  for (const auto& module : *blocks) {
    auto block = module->as<BlockImpl>();
    for (auto* lin : {&block->attn->q_proj, &block->attn->k_proj, &block->attn->v_proj}) {
      (*lin)->weight.normal_(0.0, std);
    }
    block->attn->o_proj->weight.normal_(0.0, out_std);
    block->mlp->gate->weight.normal_(0.0, std);
    block->mlp->up->weight.normal_(0.0, std);
    block->mlp->down->weight.normal_(0.0, out_std);
  }
  reset_sigma_reparams(*this);  // γ = σ(W₀): the same function as without sigmaReparam
}

double DecoderImpl::attention_flops(int64_t T) const {
  double total = 0.0;
  for (const auto& module : *blocks) {
    const auto f = module->as<BlockImpl>()->attn->variant->flops(T);
    total += f.forward + f.backward;
  }
  return total;
}

std::vector<std::vector<double>> DecoderImpl::gate_activations() const {
  std::vector<std::vector<double>> mean_LH;
  for (const auto& module : *blocks) {
    const auto gate_BTH = module->as<BlockImpl>()->attn->variant->last_gate_BTH();
    if (!gate_BTH.defined()) return {};
    const auto mean_H = gate_BTH.to(torch::kFloat64).mean(std::vector<int64_t>{0, 1}).contiguous();
    const double* first = mean_H.data_ptr<double>();
    mean_LH.emplace_back(first, first + mean_H.numel());
  }
  return mean_LH;
}

void DecoderImpl::set_measure_entropy(bool on) {
  for (const auto& module : *blocks) module->as<BlockImpl>()->attn->set_measure_entropy(on);
}

std::vector<torch::Tensor> DecoderImpl::attention_entropy() const {
  std::vector<torch::Tensor> entropy_L;
  for (const auto& module : *blocks) {
    entropy_L.push_back(module->as<BlockImpl>()->attn->last_entropy());
  }
  return entropy_L;
}

torch::Tensor DecoderImpl::hidden(const torch::Tensor& idx_BT) {
  auto x_BTC = embed(idx_BT);
  for (const auto& module : *blocks) x_BTC = module->as<BlockImpl>()->forward(x_BTC);
  return final_norm(x_BTC);
}

torch::Tensor DecoderImpl::logits(const torch::Tensor& h_BTC) {
  return lm_head ? lm_head(h_BTC) : torch::matmul(h_BTC, embed->weight.t());
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& idx_BT) { return logits(hidden(idx_BT)); }

torch::Tensor DecoderImpl::forward_tail(const torch::Tensor& idx_BT, int64_t n) {
  const int64_t T = idx_BT.size(1);
  if (n < 1 || n > T) {
    throw std::invalid_argument("forward_tail: n = " + std::to_string(n) + " must be in [1, " +
                                std::to_string(T) + "]");
  }
  return logits(hidden(idx_BT).narrow(1, T - n, n));
}

KVCache DecoderImpl::make_kv_cache(const std::string& plugin_name) const {
  std::vector<int64_t> reach_L;
  for (const auto& module : *blocks) {
    const auto& variant = *module->as<BlockImpl>()->attn->variant;
    if (!variant.supports_decoding()) {
      throw std::invalid_argument(
          "attention plugin '" + plugin_name +
          "' does not support decoding from a KV cache (its supports_decoding() is false), so "
          "this model cannot generate; use a run of a plugin that does (docs/PLUGINS.md)");
    }
    reach_L.push_back(variant.kv_reach());
  }
  return KVCache(reach_L);
}

torch::Tensor DecoderImpl::forward_cached(const torch::Tensor& idx_BT, KVCache& cache) {
  if (cache.n_layer() != config_.n_layer) {
    throw std::invalid_argument("forward_cached: the cache has " + std::to_string(cache.n_layer()) +
                                " layers, the model " + std::to_string(config_.n_layer) +
                                " (make it with make_kv_cache)");
  }
  auto x_BTC = embed(idx_BT);
  for (int64_t l = 0; l < config_.n_layer; ++l) {
    x_BTC = blocks[l]->as<BlockImpl>()->forward_cached(x_BTC, cache.layer(l), cache.position());
  }
  cache.advance(idx_BT.size(1));
  return logits(final_norm(x_BTC));
}

torch::Tensor DecoderImpl::loss(const torch::Tensor& idx_BT, const torch::Tensor& targets_BT) {
  const auto h_BTC = hidden(idx_BT);
  const auto& w_VC = lm_head ? lm_head->weight : embed->weight;
  return chunked_lm_loss(h_BTC.reshape({-1, h_BTC.size(-1)}), w_VC, targets_BT.reshape({-1}),
                         default_chunk_rows(w_VC.size(0)));
}

}  // namespace attnlab::model
