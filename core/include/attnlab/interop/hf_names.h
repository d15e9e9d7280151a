// Tensor names between our decoder (Decoder::named_parameters()/named_buffers()) and the
// Hugging Face Qwen3 checkpoint layout (transformers' Qwen3ForCausalLM):
//   embed.weight                      model.embed_tokens.weight
//   blocks.{i}.attn_norm.weight       model.layers.{i}.input_layernorm.weight
//   blocks.{i}.attn.{q,k,v,o}_proj.weight
//                                     model.layers.{i}.self_attn.{q,k,v,o}_proj.weight
//   blocks.{i}.attn.{q,k}_norm.weight model.layers.{i}.self_attn.{q,k}_norm.weight
//   blocks.{i}.mlp_norm.weight        model.layers.{i}.post_attention_layernorm.weight
//   blocks.{i}.mlp.{gate,up,down}.weight
//                                     model.layers.{i}.mlp.{gate,up,down}_proj.weight
//   final_norm.weight                 model.norm.weight
//   lm_head.weight                    lm_head.weight (untied embeddings only)
// Tensors Qwen3 does not have (attention plugins' gates and routers, sigmaReparam's γ, u, v):
//   blocks.{i}.attn.<rest>            model.layers.{i}.self_attn.attnlab.<rest>
//   blocks.{i}.<rest>                 model.layers.{i}.attnlab.<rest>
//   <name>                            attnlab.<name>
#pragma once
#include <optional>
#include <string>

namespace attnlab::interop {

std::string to_hf_name(const std::string& ours);

// The inverse of to_hf_name; nullopt for a name it never produces (e.g. a Qwen3 bias).
std::optional<std::string> from_hf_name(const std::string& hf);

}  // namespace attnlab::interop
