// Run identity by name: a run's name is derived from every key of its experiment's matrix,
// every key swept on the command line, and always its seed ("attention=dense,seed=0"), so adding seeds or arms adds runs and
// never collides; `attnlab train` also names its run by its overrides. Bookkeeping keys
// (config/identity.h) never name a run. Names and experiment names become
// directories under the results root: they are checked (no '/', no '..', no control
// characters, bounded length) and a run directory is always inside that root.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "attnlab/config/config.h"

namespace attnlab::spec {

// Characters allowed in experiment and run names, as shown in error messages.
inline constexpr const char* kNameCharacters = "letters, digits, '.', '_', '-', '=', ',' and '+'";
inline constexpr size_t kMaxNameLength = 200;

// The names of `cells` (one experiment's matrix, in order): "k1=v1,k2=v2,seed=S" over the
// matrix's keys, the keys whose override differs between cells and the keys that the
// overrides `naming` set.
// Characters outside kNameCharacters become '_'; a name still colliding with another cell's,
// or longer than kMaxNameLength, gets a short hash of the full text instead.
std::vector<std::string> derive_run_names(const std::vector<config::ResolvedConfig>& cells,
                                          const std::vector<std::string>& naming);

// Throws std::invalid_argument saying which characters are allowed, when `name` (an
// experiment or run name, described as `what`) is empty, too long, starts with '.', or has a
// character outside kNameCharacters.
void check_name(const std::string& name, const std::string& what);

// The results root of a store: results/attnlab.db -> results/runs/attnlab (absolute); every
// run directory lies below it.
std::filesystem::path runs_root(const std::string& db_path);

// <results root>/<experiment>/<run>, after checking both names; throws std::invalid_argument
// if the result would not lie inside `root`.
std::filesystem::path run_directory(const std::filesystem::path& root, const std::string& experiment,
                                    const std::string& run);

}  // namespace attnlab::spec
