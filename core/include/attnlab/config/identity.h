// What identifies a run's results and which runs are seeds of one arm. One place lists the
// config keys that cannot change what a run computes (bookkeeping: log/eval/checkpoint
// intervals, thread counts, timeouts, a declared peak) and the keys that are sources of
// run-to-run variance (seeds). Data files are compared by their real path, not their spelling.
// Used by the run driver (has a finished run's config changed? the checkpoint fingerprint)
// and by reports (grouping runs into arms). docs/CONFIG.md "Run identity" explains the lists.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace attnlab::config {

// Dotted keys that cannot change a run's math; left out of every identity below.
const std::vector<std::string>& bookkeeping_keys();

// Keys added after runs were first recorded, each with the value that computes what a config
// without the key computed (model.sigma_reparam false, train.aux_loss_weight 0.01: no plugin
// had an auxiliary loss, train.param_groups {}, train.flop_budget 0, data.kind shards and the
// data.mqar defaults): left out of the identities while they hold
// it, so runs recorded before a key existed keep their identity (resume, skip when finished).
const std::vector<std::pair<std::string, nlohmann::json>>& neutral_defaults();

// Dotted keys that are sources of run-to-run variance: "seed", "data.order_seed". An arm is
// what is left when these are removed.
const std::vector<std::string>& seed_keys();

// The sections a run's results depend on (model, data, attention, train, seed) of a resolved
// config tree, without bookkeeping keys; data.train_files/val_files as real paths (a path
// that does not exist stays as written); data.order_seed resolved (absent or < 0: follows seed).
nlohmann::json results_identity(const nlohmann::json& tree);

// results_identity without the seed keys: runs with equal arm identities are seeds of one arm.
nlohmann::json arm_identity(const nlohmann::json& tree);

struct KeyDifference {
  std::string key;       // dotted, e.g. "attention.options.window"
  nlohmann::json a, b;   // null where that side does not have the key
};

// Leaf keys (objects are descended, arrays compared whole) whose values differ, sorted by key.
std::vector<KeyDifference> key_differences(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace attnlab::config
