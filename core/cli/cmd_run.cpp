// attnlab run EXPERIMENT [overrides...]: the ablation matrix, skipping finished runs; with
// --nproc-per-node or --devices/--per-run it launches data-parallel worker processes.
#include <algorithm>
#include <thread>

#include "attnlab/dist/launch.h"
#include "attnlab/run/experiment_runner.h"
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
      ("dry-run", po::bool_switch(),
       "print each cell's run name, parameters, FLOPs/token, tokens/step, total FLOPs and status, "
       "and the eval tasks run after training, then run every check a real run makes; writes "
       "nothing, trains nothing")
      ("restart", po::bool_switch(),
       "start unfinished runs over instead of resuming them from their latest checkpoint, and "
       "replace finished runs whose config changed (without it, a changed config of a finished "
       "run is an error)")
      ("nproc-per-node", po::value<int>()->default_value(0),
       "data-parallel: start N worker processes (ranks) on this machine that train each run "
       "together (Gloo on CPU, NCCL on GPU); see docs/DISTRIBUTED.md")
      ("devices", po::value<std::string>()->default_value(""),
       "devices (GPU ids; on CPU just slots) to schedule runs on, e.g. 0-7 or 0,2,3; with "
       "--per-run K, len/K runs train side by side, each on K devices")
      ("per-run", po::value<int>()->default_value(1), "devices (ranks) per run with --devices")
      ("master-port", po::value<int>()->default_value(0),
       "rendezvous port of the first process group (the next groups take the next ports); "
       "0 = a free port each");
  return o;
}

// The launcher's flags, which its workers must not see again.
bool is_launcher_flag(const std::string& arg, bool* takes_value) {
  for (const char* flag : {"--nproc-per-node", "--devices", "--per-run", "--master-port"}) {
    const std::string f = flag;
    if (arg == f) {
      *takes_value = true;
      return true;
    }
    if (arg.rfind(f + "=", 0) == 0) {
      *takes_value = false;
      return true;
    }
  }
  return false;
}

int launch(const ParsedArgs& parsed, const Args& args, const std::string& command) {
  if (auto env = dist::parse_dist_env_from_process()) {
    throw UsageError("this process is already rank " + std::to_string(env->rank) + " of a " +
                     env->source + " launch (WORLD_SIZE or SLURM_NTASKS is set); drop "
                     "--nproc-per-node/--devices, the launcher started the ranks");
  }
  dist::LaunchRequest request;
  try {
    request.plan = dist::plan_launch(parsed.vm["nproc-per-node"].as<int>(),
                                      parsed.vm["devices"].as<std::string>(),
                                      parsed.vm["per-run"].as<int>(),
                                      static_cast<int>(std::thread::hardware_concurrency()));
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  request.master_port = parsed.vm["master-port"].as<int>();
  request.worker_argv = {"attnlab", command};
  for (size_t i = 0; i < args.size(); ++i) {
    bool takes_value = false;
    if (is_launcher_flag(args[i], &takes_value)) {
      i += takes_value ? 1 : 0;
      continue;
    }
    request.worker_argv.push_back(args[i]);
  }
  const auto db_path = parsed.vm["db"].as<std::string>();
  request.on_group_failed = [db_path](const std::vector<pid_t>& pids, const std::string& why) {
    run::mark_runs_of_dead_workers(db_path, pids, why);
  };
  return dist::launch_workers(request);
}

run::ExperimentRequest make_request(const ParsedArgs& parsed, const std::string& command) {
  if (parsed.positional.empty()) {
    throw UsageError("missing EXPERIMENT (a YAML file such as experiments/smoke.yaml, or its name)");
  }
  run::ExperimentRequest r;
  r.experiment = parsed.positional.front();
  r.overrides.assign(parsed.positional.begin() + 1, parsed.positional.end());
  r.db_path = parsed.vm["db"].as<std::string>();
  r.plugin_dir = parsed.vm["plugin-dir"].as<std::string>();
  r.dry_run = parsed.vm["dry-run"].as<bool>();
  // The ranks of one run: --nproc-per-node N, or --per-run K with --devices.
  const bool per_device = !parsed.vm["devices"].as<std::string>().empty();
  r.plan_world_size = std::max({1, parsed.vm["nproc-per-node"].as<int>(),
                                per_device ? parsed.vm["per-run"].as<int>() : 1});
  r.restart = parsed.vm["restart"].as<bool>();
  r.config_dirs.push_back(default_experiments_dir());
  if (parsed.vm.count("config-dir")) {
    for (const auto& d : parsed.vm["config-dir"].as<std::vector<std::string>>()) {
      r.config_dirs.insert(r.config_dirs.begin(), d);
    }
  }
  r.single_run = command == "train";
  r.dist = dist::parse_dist_env_from_process();
  return r;
}

int run_command(const Args& args, const std::string& command, const std::string& usage) {
  auto parsed = parse_args(command, usage, experiment_options(), args, "experiment");
  if (parsed.help) return 0;
  const bool launcher = parsed.vm["nproc-per-node"].as<int>() != 0 ||
                        !parsed.vm["devices"].as<std::string>().empty() ||
                        parsed.vm["per-run"].as<int>() != 1 ||
                        parsed.vm["master-port"].as<int>() != 0;
  if (launcher && !parsed.vm["dry-run"].as<bool>()) return launch(parsed, args, command);
  return run::run_experiment(make_request(parsed, command));
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
                     "Each run that finishes is then evaluated on its config's eval.tasks (e.g.\n"
                     "val_loss, position_loss, passkey, generation; the plan lists them per run),\n"
                     "stored as evals rows; a task that fails is printed and kept in run_info\n"
                     "eval_error; the run still finishes (attnlab eval --help; docs/EVALUATION.md).\n"
                     "Data-parallel: --nproc-per-node N trains each run with N ranks; --devices\n"
                     "0-7 --per-run 1 trains 8 runs side by side; under torchrun or srun the\n"
                     "ranks come from the environment (docs/DISTRIBUTED.md).\n"
                     "Example: attnlab run experiments/smoke.yaml seed=0,1 --nproc-per-node 2");
}

int cmd_train(const Args& args) {
  return run_command(args, "train",
                     "CONFIG [overrides...] [options]\n\n"
                     "Trains exactly one config (one matrix cell): like 'run', but a sweep or\n"
                     "matrix making more than one cell is an error.\n"
                     "Example: attnlab train experiments/smoke.yaml attention=gated_window");
}

}  // namespace attnlab::cli
