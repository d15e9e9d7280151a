// attnlab run EXPERIMENT [overrides...]: the ablation matrix, skipping finished runs.
#include "attnlab/train/experiment_runner.h"
#include "cli_common.h"
#include "commands.h"

namespace attnlab::cli {

namespace {

po::options_description experiment_options() {
  po::options_description o;
  o.add_options()
      ("db", po::value<std::string>()->default_value(default_db_path()), "results store (SQLite file)")
      ("config-dir", po::value<std::vector<std::string>>()->composing(),
       "extra directory searched for config groups and experiments (repeatable)")
      ("plugin-dir", po::value<std::string>()->default_value(default_plugin_dir().string()),
       "directory holding libattnlab_<variant>.so plugins")
      ("dry-run", po::bool_switch(), "list the matrix cells and their status; train nothing")
      ("restart", po::bool_switch(),
       "start unfinished runs over instead of resuming them from their latest checkpoint");
  return o;
}

train::ExperimentRequest make_request(const ParsedArgs& parsed, const std::string& command) {
  if (parsed.positional.empty()) {
    throw UsageError("missing EXPERIMENT (a YAML file such as experiments/smoke.yaml, or its name)");
  }
  train::ExperimentRequest r;
  r.experiment = parsed.positional.front();
  r.overrides.assign(parsed.positional.begin() + 1, parsed.positional.end());
  r.db_path = parsed.vm["db"].as<std::string>();
  r.plugin_dir = parsed.vm["plugin-dir"].as<std::string>();
  r.dry_run = parsed.vm["dry-run"].as<bool>();
  r.restart = parsed.vm["restart"].as<bool>();
  r.config_dirs.push_back(default_experiments_dir());
  if (parsed.vm.count("config-dir")) {
    for (const auto& d : parsed.vm["config-dir"].as<std::vector<std::string>>()) {
      r.config_dirs.insert(r.config_dirs.begin(), d);
    }
  }
  r.single_run = command == "train";
  return r;
}

int run_command(const Args& args, const std::string& command, const std::string& usage) {
  auto parsed = parse_args(command, usage, experiment_options(), args, "experiment");
  if (parsed.help) return 0;
  return train::run_experiment(make_request(parsed, command));
}

}  // namespace

int cmd_run(const Args& args) {
  return run_command(args, "run",
                     "EXPERIMENT [overrides...] [options]\n\n"
                     "Composes EXPERIMENT (experiments/<name>.yaml or a path), applies overrides\n"
                     "(key=value, group=option, +key=value, ~key, sweeps key=a,b,c), expands the\n"
                     "matrix and trains every cell not finished yet, recording each run in the\n"
                     "results store. Re-running skips finished runs and resumes unfinished ones\n"
                     "from their latest checkpoint (--restart starts them over). SIGTERM/SIGINT\n"
                     "finish the current step, checkpoint, and exit with code 3.\n"
                     "Example: attnlab run experiments/smoke.yaml seed=0,1");
}

int cmd_train(const Args& args) {
  return run_command(args, "train",
                     "CONFIG [overrides...] [options]\n\n"
                     "Trains exactly one config (one matrix cell): like 'run', but a sweep or\n"
                     "matrix making more than one cell is an error.\n"
                     "Example: attnlab train experiments/smoke.yaml attention=gated_window");
}

}  // namespace attnlab::cli
