// Run and arm identities of a resolved config tree (see attnlab/config/identity.h).
#include "attnlab/config/identity.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "config_tree.h"

namespace attnlab::config {

namespace {

// Removes a dotted key from a tree, if present.
void erase_dotted(nlohmann::json& tree, const std::string& dotted) {
  auto path = split_dotted(dotted);
  const std::string last = path.back();
  path.pop_back();
  nlohmann::json* parent = find_path(tree, path);
  if (parent && parent->is_object()) parent->erase(last);
}

std::string real_path(const std::string& spelled) {
  std::error_code ec;
  const auto real = std::filesystem::weakly_canonical(spelled, ec);
  return ec ? spelled : real.string();
}

void canonicalise_files(nlohmann::json& data) {
  for (const char* key : {"train_files", "val_files"}) {
    if (!data.contains(key) || !data[key].is_array()) continue;
    for (auto& file : data[key]) {
      if (file.is_string()) file = real_path(file.get<std::string>());
    }
  }
}

void flatten(const nlohmann::json& node, const std::string& prefix,
             std::map<std::string, nlohmann::json>& out) {
  if (node.is_object() && !node.empty()) {
    for (const auto& [key, value] : node.items()) {
      flatten(value, prefix.empty() ? key : prefix + "." + key, out);
    }
    return;
  }
  out[prefix] = node;
}

}  // namespace

const std::vector<std::string>& bookkeeping_keys() {
  static const std::vector<std::string> keys = {
      "train.log_every",        "train.eval_every",     "train.checkpoint_every",
      "train.keep_checkpoints", "train.dist_timeout_s", "train.peak_flops",
      "train.threads",          "data.tokenizer_dir"};
  return keys;
}

const std::vector<std::pair<std::string, nlohmann::json>>& neutral_defaults() {
  static const std::vector<std::pair<std::string, nlohmann::json>> keys = {
      {"model.sigma_reparam", false},
      {"train.aux_loss_weight", 0.01},
      {"train.param_groups", nlohmann::json::object()},
      {"train.flop_budget", 0.0},
      {"train.init_from", ""},
      {"train.distill_gate", false},
      {"data.kind", "shards"},
      {"data.mqar", {{"pairs", 8}, {"queries", 8}, {"gaps", {16, 64, 256}}, {"seed", 0},
                     {"train_sequences", 20000}, {"val_sequences", 256}}}};
  return keys;
}

const std::vector<std::string>& seed_keys() {
  static const std::vector<std::string> keys = {"seed", "data.order_seed"};
  return keys;
}

nlohmann::json results_identity(const nlohmann::json& tree) {
  nlohmann::json identity = nlohmann::json::object();
  // The sections a run computes from. Not `eval`: it is measured after training, so changing
  // eval.* neither changes a finished run's identity nor its checkpoints' fingerprint.
  for (const char* key : {"model", "data", "attention", "train", "seed"}) {
    if (tree.contains(key)) identity[key] = tree.at(key);
  }
  for (const auto& key : bookkeeping_keys()) erase_dotted(identity, key);
  for (const auto& [key, neutral] : neutral_defaults()) {
    const nlohmann::json* value = find_path(identity, split_dotted(key));
    if (value && *value == neutral) erase_dotted(identity, key);
  }
  if (identity.contains("data") && identity["data"].is_object()) {
    auto& data = identity["data"];
    canonicalise_files(data);
    const bool follows_seed = !data.contains("order_seed") || !data["order_seed"].is_number() ||
                              data["order_seed"].get<double>() < 0;
    if (follows_seed && identity.contains("seed")) data["order_seed"] = identity["seed"];
  }
  return identity;
}

nlohmann::json arm_identity(const nlohmann::json& tree) {
  auto identity = results_identity(tree);
  for (const auto& key : seed_keys()) erase_dotted(identity, key);
  return identity;
}

std::vector<KeyDifference> key_differences(const nlohmann::json& a, const nlohmann::json& b) {
  std::map<std::string, nlohmann::json> flat_a, flat_b;
  flatten(a, "", flat_a);
  flatten(b, "", flat_b);
  std::vector<KeyDifference> out;
  for (const auto& [key, value] : flat_a) {
    const auto it = flat_b.find(key);
    if (it == flat_b.end()) {
      out.push_back({key, value, nullptr});
    } else if (it->second != value) {
      out.push_back({key, value, it->second});
    }
  }
  for (const auto& [key, value] : flat_b) {
    if (!flat_a.count(key)) out.push_back({key, nullptr, value});
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.key < y.key; });
  return out;
}

}  // namespace attnlab::config
