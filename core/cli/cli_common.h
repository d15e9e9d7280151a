// Shared pieces of the subcommands: option parsing with uniform --help and errors, and the
// default locations (results store, plugin directory, experiments directory).
#pragma once
#include <boost/program_options.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnlab::cli {

namespace po = boost::program_options;

// A usage error: printed as one line "attnlab <cmd>: error: ..." plus a --help hint, exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ParsedArgs {
  po::variables_map vm;
  std::vector<std::string> positional;  // only when the command declares positionals
  bool help = false;                    // --help was given: usage has been printed already
};

// Parses `args` against `options` (plus --help). `positional_name` (may be empty) collects
// the remaining non-option arguments; unknown options are a UsageError naming them and the
// ones expected. `usage` is the one-line synopsis printed above the options on --help.
ParsedArgs parse_args(const std::string& command, const std::string& usage,
                      const po::options_description& options, const std::vector<std::string>& args,
                      const std::string& positional_name = "");

// `results/attnlab.db` under the current directory unless ATTNLAB_DB is set. Only that default
// folder is created when missing; any other --db must name an existing directory (Store).
std::string default_db_path();
// Directory holding libattnlab_<name>.so: ATTNLAB_PLUGIN_DIR, else <executable dir>/plugins.
std::filesystem::path default_plugin_dir();
// Config search root: ATTNLAB_EXPERIMENTS_DIR, else ./experiments.
std::filesystem::path default_experiments_dir();

}  // namespace attnlab::cli
