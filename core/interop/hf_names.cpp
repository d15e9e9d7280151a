// Our tensor names <-> Hugging Face Qwen3 names; the table is in hf_names.h.
#include "attnlab/interop/hf_names.h"

#include <utility>
#include <vector>

namespace attnlab::interop {

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;  // (ours, Hugging Face)

const Pairs& layer_names() {  // within one block / model.layers.{i}
  static const Pairs names = {{"attn_norm.weight", "input_layernorm.weight"},
                              {"mlp_norm.weight", "post_attention_layernorm.weight"},
                              {"attn.q_proj.weight", "self_attn.q_proj.weight"},
                              {"attn.k_proj.weight", "self_attn.k_proj.weight"},
                              {"attn.v_proj.weight", "self_attn.v_proj.weight"},
                              {"attn.o_proj.weight", "self_attn.o_proj.weight"},
                              {"attn.q_norm.weight", "self_attn.q_norm.weight"},
                              {"attn.k_norm.weight", "self_attn.k_norm.weight"},
                              {"mlp.gate.weight", "mlp.gate_proj.weight"},
                              {"mlp.up.weight", "mlp.up_proj.weight"},
                              {"mlp.down.weight", "mlp.down_proj.weight"},
                              {"attn.", "self_attn.attnlab."},  // prefixes: the first match wins
                              {"", "attnlab."}};
  return names;
}

const Pairs& model_names() {
  static const Pairs names = {{"embed.weight", "model.embed_tokens.weight"},
                              {"final_norm.weight", "model.norm.weight"},
                              {"lm_head.weight", "lm_head.weight"},
                              {"", "attnlab."}};
  return names;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// `name` through the table from column `from` to the other: exact names first, then the
// prefixes (entries ending in '.' or empty).
std::optional<std::string> translate(const Pairs& table, const std::string& name, bool to_hf) {
  for (const auto& pair : table) {
    const auto& [from, to] = to_hf ? pair : std::make_pair(pair.second, pair.first);
    const bool prefix = from.empty() || from.back() == '.';
    if (!prefix && name == from) return to;
    if (prefix && starts_with(name, from) && name.size() > from.size()) {
      return to + name.substr(from.size());
    }
  }
  return std::nullopt;
}

// "<head><digits>.<rest>" -> (digits, rest)
std::optional<std::pair<std::string, std::string>> split_layer(const std::string& name,
                                                               const std::string& head) {
  if (!starts_with(name, head)) return std::nullopt;
  const auto dot = name.find('.', head.size());
  const auto index = name.substr(head.size(), dot - head.size());
  if (dot == std::string::npos || index.empty() ||
      index.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::make_pair(index, name.substr(dot + 1));
}

}  // namespace

std::string to_hf_name(const std::string& ours) {
  if (const auto layer = split_layer(ours, "blocks.")) {
    return "model.layers." + layer->first + "." + *translate(layer_names(), layer->second, true);
  }
  return *translate(model_names(), ours, true);
}

std::optional<std::string> from_hf_name(const std::string& hf) {
  if (const auto layer = split_layer(hf, "model.layers.")) {
    const auto rest = translate(layer_names(), layer->second, false);
    if (!rest) return std::nullopt;
    return "blocks." + layer->first + "." + *rest;
  }
  return translate(model_names(), hf, false);
}

}  // namespace attnlab::interop
