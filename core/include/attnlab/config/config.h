// Composed experiment configs: what `compose_experiment` returns and the error every config
// problem is reported with. Composition follows Hydra: config groups (model/, data/, train/,
// attention/) chosen by a `defaults:` list, experiment files as deltas, command-line
// overrides, and sweeps/`matrix:` expanding into one ResolvedConfig per cell.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnlab::config {

class SchemaRegistry;  // schema.h

// Where a value came from: a file position (1-based line and column) or an override.
struct Origin {
  std::string file;  // path of the YAML file, or "<override>" for the command line
  int line = 0;      // 0 when unknown (e.g. a default filled from a schema)
  int column = 0;
  std::string detail;  // for overrides: the override text, e.g. "train.lr=abc"
  std::string str() const;  // "experiments/smoke.yaml:12:5" or "override 'train.lr=abc'"
};

// Every config problem: names the dotted key and where it is. what() is one line:
// "<origin>: <key>: <message>" (key omitted when the error is not about one key).
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string key, Origin origin, std::string message);
  const std::string& key() const { return key_; }
  const Origin& origin() const { return origin_; }
  const std::string& message() const { return message_; }

 private:
  std::string key_;
  Origin origin_;
  std::string message_;
};

// One matrix cell, fully composed and interpolated (and, after SchemaRegistry::validate,
// with defaults filled in and every key checked).
struct ResolvedConfig {
  nlohmann::json tree;                    // nested objects, e.g. tree["model"]["d_model"]
  std::map<std::string, Origin> origins;  // dotted key -> where its value was set
  std::vector<std::string> overrides;     // the overrides that made this cell, in order
  std::string cell_name;                  // e.g. "attention=gated_window,seed=1"; "" if none
  std::vector<std::string> matrix_keys;   // the keys the experiment file's `matrix:` sweeps
  std::string experiment;                 // `experiment.name`, else the file's stem
  std::filesystem::path source_file;      // the experiment file

  // Typed access by dotted key; throws ConfigError naming the key if absent or mistyped.
  const nlohmann::json& at(const std::string& dotted_key) const;
  Origin origin_of(const std::string& dotted_key) const;  // nearest known origin
};

struct ComposeOptions {
  // Directories searched for config groups (<dir>/<group>/<option>.yaml), first match wins.
  // The experiment file's own directory is searched first.
  std::vector<std::filesystem::path> search_path;
  // Optional: keys this registry declares count as existing for `a.b=v` overrides, so a key
  // that only has a schema default can be set without '+'.
  const SchemaRegistry* schema = nullptr;
};

// Loads `experiment_file`, composes its `defaults:`, applies `overrides` (command line),
// expands sweeps and the file's `matrix:` block into cells, and resolves interpolations.
// Throws ConfigError on any problem.
std::vector<ResolvedConfig> compose_experiment(const std::filesystem::path& experiment_file,
                                               const std::vector<std::string>& overrides,
                                               const ComposeOptions& options);

// An experiment given as a path (an existing file) or by name: `smoke` -> <dir>/smoke.yaml
// for the first dir of options.search_path holding it. Throws ConfigError listing the
// experiments found when there is none.
std::filesystem::path resolve_experiment_path(const std::string& name_or_path,
                                              const ComposeOptions& options);

}  // namespace attnlab::config
