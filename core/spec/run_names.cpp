// Run names derived from what differs between an experiment's cells, and the checks that keep
// experiment and run names safe as directory names under the results root.
#include "attnlab/spec/run_names.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <stdexcept>

#include "attnlab/config/identity.h"
#include "attnlab/util/sha256.h"

namespace attnlab::spec {

namespace {

bool allowed(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string("._-=,+").find(c) != std::string::npos;
}

// "key" of an override text: "+a.b=1" -> "a.b", "~a.b" -> "a.b".
std::string override_key(const std::string& text) {
  const size_t begin = text.find_first_not_of("+~");
  const size_t eq = text.find('=');
  return text.substr(begin, eq == std::string::npos ? std::string::npos : eq - begin);
}

std::string sanitise(const std::string& text) {
  std::string out = text;
  for (auto& c : out) {
    if (!allowed(c)) c = '_';
  }
  if (!out.empty() && out.front() == '.') out.front() = '_';
  return out;
}

std::string short_hash(const std::string& text) {
  return util::sha256_hex(text.data(), text.size()).substr(0, 12);
}

// The keys that name a cell: those the experiment's matrix sweeps, those whose override text
// differs between cells and those `naming` sets, in first-seen order, except bookkeeping
// keys and eval.* (measured after training: outside the results identity); the seed is added
// last.
std::vector<std::string> naming_keys(const std::vector<config::ResolvedConfig>& cells,
                                     const std::vector<std::string>& naming) {
  std::map<std::string, std::set<std::string>> texts_by_key;
  std::vector<std::string> order = cells.front().matrix_keys;  // the matrix's keys come first
  for (const auto& cell : cells) {
    for (const auto& text : cell.overrides) {
      const auto key = override_key(text);
      if (!texts_by_key.count(key) && std::find(order.begin(), order.end(), key) == order.end()) {
        order.push_back(key);
      }
      texts_by_key[key].insert(text);
    }
  }
  std::set<std::string> given(cells.front().matrix_keys.begin(), cells.front().matrix_keys.end());
  for (const auto& text : naming) given.insert(override_key(text));
  const auto& bookkeeping = config::bookkeeping_keys();
  std::vector<std::string> keys;
  for (const auto& key : order) {
    const bool names = texts_by_key[key].size() > 1 || given.count(key);
    const bool measured_after = key == "eval" || key.rfind("eval.", 0) == 0;  // not identity
    const bool neutral = key == "seed" || measured_after ||
                         std::count(bookkeeping.begin(), bookkeeping.end(), key);
    if (names && !neutral) keys.push_back(key);
  }
  return keys;
}

// "k1=v1,k2=v2,seed=S": each key with the value of its last override in this cell.
std::string full_name(const config::ResolvedConfig& cell, const std::vector<std::string>& keys) {
  std::string name;
  for (const auto& key : keys) {
    std::string last;
    for (const auto& text : cell.overrides) {
      if (override_key(text) == key) last = text;
    }
    const auto eq = last.find('=');
    name += (name.empty() ? "" : ",") + (eq == std::string::npos ? last : key + last.substr(eq));
  }
  return name + (name.empty() ? "" : ",") + "seed=" + cell.tree.at("seed").dump();
}

// Two cells whose overrides differ only in keys that cannot name a run.
std::invalid_argument same_name_error(const std::vector<config::ResolvedConfig>& cells, size_t a,
                                      size_t b) {
  std::string differ;
  for (const auto& text : cells[b].overrides) {
    const auto& other = cells[a].overrides;
    if (std::find(other.begin(), other.end(), text) == other.end()) differ += " " + text;
  }
  return std::invalid_argument("cells " + std::to_string(a + 1) + " and " + std::to_string(b + 1) +
                               " differ only in keys that cannot change a run (" + differ.substr(1) +
                               "): they would be one run; sweep a key that changes the math, or "
                               "the seed");
}

}  // namespace

std::vector<std::string> derive_run_names(const std::vector<config::ResolvedConfig>& cells,
                                          const std::vector<std::string>& naming) {
  const auto keys = naming_keys(cells, naming);
  std::vector<std::string> full, names;
  std::map<std::string, int> uses;
  std::map<std::string, size_t> first_cell;
  for (size_t i = 0; i < cells.size(); ++i) {
    full.push_back(full_name(cells[i], keys));
    if (!first_cell.emplace(full.back(), i).second) throw same_name_error(cells, first_cell[full.back()], i);
    names.push_back(sanitise(full.back()));
    ++uses[names.back()];
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const bool clash = uses[names[i]] > 1 && full[i] != names[i];
    if (clash || names[i].size() > kMaxNameLength) {
      names[i] = names[i].substr(0, kMaxNameLength - 13) + "-" + short_hash(full[i]);
    }
  }
  return names;
}

void check_name(const std::string& name, const std::string& what) {
  std::string problem;
  if (name.empty()) {
    problem = "is empty";
  } else if (name.size() > kMaxNameLength) {
    problem = "is longer than " + std::to_string(kMaxNameLength) + " characters";
  } else if (name.front() == '.') {
    problem = "starts with '.'";
  } else if (!std::all_of(name.begin(), name.end(), allowed)) {
    problem = "has a character that is not allowed";
  }
  if (problem.empty()) return;
  throw std::invalid_argument(what + " '" + name + "' " + problem + "; use only " +
                              kNameCharacters + ", not starting with '.'");
}

std::filesystem::path runs_root(const std::string& db_path) {
  const auto db = std::filesystem::absolute(db_path);
  return db.parent_path() / "runs" / db.stem();
}

std::filesystem::path run_directory(const std::filesystem::path& root, const std::string& experiment,
                                    const std::string& run) {
  check_name(experiment, "experiment name");
  check_name(run, "run name");
  const auto base = std::filesystem::absolute(root).lexically_normal();
  const auto dir = (base / experiment / run).lexically_normal();
  const auto rel = dir.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") {
    throw std::invalid_argument("run directory '" + dir.string() + "' is outside the results root '" +
                                base.string() + "'");
  }
  return dir;
}

}  // namespace attnlab::spec
