// run_experiment: the matrix loop behind `attnlab run` and `attnlab train`.
#include "attnlab/run/experiment_runner.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "attnlab/config/identity.h"
#include "attnlab/config/yaml_writer.h"
#include "attnlab/device/device.h"
#include "attnlab/dist/communicator.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/run/code_version.h"
#include "attnlab/run/error_message.h"
#include "attnlab/run/eval_runs.h"
#include "attnlab/run/plan.h"
#include "attnlab/run/run_cell.h"
#include "attnlab/run/run_owner.h"
#include "attnlab/run/store_sink.h"
#include "attnlab/spec/run_names.h"
#include "attnlab/store/store.h"

namespace attnlab::run {

namespace {

using Specs = std::vector<spec::RunSpec>;

// "key: stored -> requested" for each results-relevant key where a stored run's config and
// this spec's differ (at most `limit`, then "..."); empty when they agree. Data files are
// compared by real path; a key only one side has came or went with another attnlab version.
std::string config_changes(const std::string& stored_json, const spec::RunSpec& spec,
                           size_t limit = 4) {
  const auto before = config::results_identity(nlohmann::json::parse(stored_json));
  std::string out;
  size_t n = 0;
  for (const auto& d : config::key_differences(before, spec.identity)) {
    if (d.a.is_null() || d.b.is_null()) continue;
    if (n++ == limit) return out + ", ...";
    out += (out.empty() ? "" : ", ") + d.key + ": " + d.a.dump() + " -> " + d.b.dump();
  }
  return out;
}

std::atomic<bool> g_stop_requested{false};

extern "C" void on_stop_signal(int) { g_stop_requested.store(true); }

// SIGTERM/SIGINT finish the current step, checkpoint and stop; a second SIGINT kills.
void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

// The process group of a worker in a multi-rank launch, with the longest collective timeout
// any cell asks for; null for a single process.
std::unique_ptr<dist::Communicator> make_communicator(const ExperimentRequest& request,
                                                      const Specs& specs) {
  if (!request.dist || request.dist->world_size == 1) return nullptr;
  int64_t timeout_s = 0;
  for (const auto& s : specs) timeout_s = std::max(timeout_s, s.train.dist_timeout_s);
  // NCCL for GPUs: each rank's own GPU must be current before the process group exists.
  const auto device = device::place_on(specs.front().train.device);
  device::make_current(device);
  return std::make_unique<dist::Communicator>(*request.dist, std::chrono::seconds(timeout_s),
                                              device.is_cuda() ? "nccl" : "gloo");
}

CellOptions cell_options_for(const ExperimentRequest& request, const spec::RunSpec& spec,
                             dist::Communicator* dist) {
  CellOptions cell_options;
  cell_options.run_dir = spec::run_directory(spec::runs_root(request.db_path), spec.experiment, spec.run_name);
  cell_options.peak_flops_cache =
      std::filesystem::absolute(request.db_path).parent_path() / "peak_flops.json";
  cell_options.restart = request.restart;
  cell_options.stop_requested = &g_stop_requested;
  cell_options.log_prefix = "[" + spec.run_name + "] ";
  cell_options.dist = dist;
  if (request.dist) cell_options.intra_op_threads = request.dist->intra_op_threads;
  return cell_options;
}

// Ranks other than 0 of a process group: train the cell whose index rank 0 broadcasts, until
// it broadcasts -1. They never open the store and keep stdout quiet (rank 0 reports).
int run_cells_as_follower(const ExperimentRequest& request, const Specs& specs,
                          plugin::PluginRegistry& plugins) {
  if (!std::freopen("/dev/null", "w", stdout)) {
    throw std::runtime_error("rank " + std::to_string(request.dist->rank) +
                             ": cannot redirect stdout to /dev/null");
  }
  install_stop_handlers();
  auto dist = make_communicator(request, specs);
  train::NullSink sink;
  for (;;) {
    const int64_t index = dist->broadcast_int(-1);
    if (index < 0) return 0;
    const auto& spec = specs.at(static_cast<size_t>(index));
    try {
      const auto result = run_cell(spec, plugins, sink, cell_options_for(request, spec, dist.get()));
      if (result.train.preempted) return kExitPreempted;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "[%s] failed: %s\n", spec.run_name.c_str(), error_message(e).c_str());
      return 1;
    }
  }
}

// Stored statuses by run name, read without writing anything (the store may not exist yet).
std::map<std::string, std::string> stored_statuses(const std::string& db_path,
                                                   const std::string& experiment) {
  std::map<std::string, std::string> status;
  if (!std::filesystem::exists(db_path)) return status;
  const store::Store db(db_path, store::Store::ReadOnly{});
  for (const auto& run : db.runs(experiment)) status[run.name] = run.status;
  return status;
}

// A finished run is never silently kept for, or overwritten by, another config: checked for
// every cell before any run is created. Returns the names to replace (only with --restart).
std::set<std::string> finished_runs_to_replace(const store::Store& db, const Specs& specs,
                                               const ExperimentRequest& request) {
  std::map<std::string, store::RunRecord> stored;
  for (auto& run : db.runs(specs.front().experiment)) stored.emplace(run.name, std::move(run));
  std::set<std::string> to_replace;
  for (const auto& spec : specs) {
    const auto it = stored.find(spec.run_name);
    if (it == stored.end() || it->second.status != "finished") continue;
    const auto changes = config_changes(it->second.config_json, spec);
    if (changes.empty()) continue;
    if (!request.restart) {
      throw std::runtime_error(
          request.db_path + ": run '" + spec.experiment + "/" + it->first +
          "' finished with another config (" + changes +
          "); its results stay as they are. Give these runs their own experiment name "
          "(experiment.name=NAME) or, to replace that run, add --restart");
    }
    to_replace.insert(it->first);
  }
  return to_replace;
}

struct Pending {
  const spec::RunSpec* spec;
  store::RunRecord run;
};

// Creates the experiment and its runs in the store; returns the runs left to train.
std::vector<Pending> register_runs(store::Store& db, const Specs& specs,
                                   const ExperimentRequest& request, const std::string& source) {
  const auto to_replace = finished_runs_to_replace(db, specs, request);
  const auto& experiment = specs.front().experiment;
  db.upsert_experiment(experiment, source, nlohmann::json{{"overrides", request.overrides}}.dump());
  std::vector<Pending> todo;
  int n_finished = 0;
  for (const auto& spec : specs) {
    const auto config_json = spec.cell.tree.dump(2), config_yaml = config::to_yaml(spec.cell.tree);
    const auto overrides_json = nlohmann::json(spec.cell.overrides).dump();
    const auto seed = static_cast<int64_t>(spec.seed);
    auto run = db.get_or_create_run(experiment, spec.run_name, spec.variant, seed, config_json,
                                    config_yaml, overrides_json, code_version());
    if (run.status == "finished" && !to_replace.count(run.name)) {
      ++n_finished;
      continue;
    }
    if (run.status == "finished") db.set_run_status(run.id, "pending");
    if (request.restart) {  // the run starts over with this config: store what it runs
      db.update_run_config(run.id, spec.variant, seed, config_json, config_yaml, overrides_json,
                           code_version());
    }
    todo.push_back({&spec, run});
  }
  std::printf("experiment %s: %zu cells, %d finished already, %zu to run (db %s)\n",
              experiment.c_str(), specs.size(), n_finished, todo.size(), request.db_path.c_str());
  return todo;
}

// Claims a run for this process, first freeing it when its owner is gone.
bool claim(store::Store& db, const store::RunRecord& run) {
  if (run.status == "running") {
    const auto current = db.run(run.id);
    if (current.status == "running" && owner_is_gone(current.owner, db.heartbeat_age_s(run.id))) {
      db.set_run_status(run.id, "failed", "its process (" + current.owner + ") is gone; resuming");
    }
  }
  return db.claim_run(run.id, owner_id());
}

enum class Outcome { Finished, Failed, Preempted };

// The trained run's eval.tasks on the trainer's model, stored at its last step (rank 0 alone;
// the other ranks wait for the next cell). Runs before the run is marked finished, so a process
// killed mid-evaluation leaves it resumable: the rerun loads the final checkpoint, trains no step
// and evaluates again. Nothing here fails the run.
void evaluate_after_training(store::Store& db, const Pending& p, CellResult& result) {
  const auto prefix = "[" + p.run.name + "] ";
  try {
    evaluate_finished_run(db, p.run.id, result.train.steps, result.model, p.spec->cell.tree,
                          prefix);
  } catch (const std::exception& e) {  // e.g. the store refused the rows
    std::fprintf(stderr, "%seval not stored (the run is finished all the same; rerun it "
                         "with `attnlab eval`): %s\n", prefix.c_str(), error_message(e).c_str());
  }
}

Outcome train_claimed(store::Store& db, const Pending& p, const ExperimentRequest& request,
                      plugin::PluginRegistry& plugins, dist::Communicator* dist, int64_t index) {
  StoreSink sink(db, p.run.id);
  Heartbeat heartbeat(request.db_path, p.run.id);
  try {
    if (dist) dist->broadcast_int(index);  // the followers train it too
    auto result = run_cell(*p.spec, plugins, sink, cell_options_for(request, *p.spec, dist));
    if (result.train.preempted) {
      db.set_run_status(p.run.id, "preempted",
                        "stopped by a signal after step " + std::to_string(result.train.steps));
      return Outcome::Preempted;
    }
    evaluate_after_training(db, p, result);
    db.set_run_status(p.run.id, "finished");
    return Outcome::Finished;
  } catch (const std::exception& e) {
    const auto message = error_message(e);
    db.set_run_status(p.run.id, "failed", message);
    std::fprintf(stderr, "[%s] failed: %s\n", p.run.name.c_str(), message.c_str());
    return Outcome::Failed;
  }
}

int train_all(store::Store& db, const std::vector<Pending>& todo, const Specs& specs,
              const ExperimentRequest& request, plugin::PluginRegistry& plugins) {
  install_stop_handlers();
  const auto dist = make_communicator(request, specs);
  if (dist) {
    std::printf("data-parallel: %d ranks (%s environment), rank 0 reports\n", dist->world_size(),
                request.dist->source.c_str());
  }
  const auto& experiment = specs.front().experiment;
  int n_failed = 0;
  size_t n_trained = 0;  // by this process (another scheduler may train some of `todo`)
  const auto t_start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < todo.size(); ++i) {
    const auto& run = todo[i].run;
    if (!claim(db, run)) {
      std::printf("[%zu/%zu] %s: claimed by another process, skipped\n", i + 1, todo.size(),
                  run.name.c_str());
      continue;
    }
    std::printf("[%zu/%zu] %s: training\n", i + 1, todo.size(), run.name.c_str());
    std::fflush(stdout);
    const auto outcome =
        train_claimed(db, todo[i], request, plugins, dist.get(), todo[i].spec - specs.data());
    if (outcome == Outcome::Preempted) {
      std::printf("experiment %s: preempted; run the same command again to resume\n",
                  experiment.c_str());
      return kExitPreempted;
    }
    if (outcome == Outcome::Failed && dist) return 1;  // the process group may be broken
    if (outcome == Outcome::Failed) ++n_failed;
    if (outcome == Outcome::Finished) ++n_trained;
  }
  if (dist) dist->broadcast_int(-1);  // no more cells
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("experiment %s: %zu trained in %.0f s, %d failed; report: attnlab report --experiment %s\n",
              experiment.c_str(), n_trained, wall, n_failed, experiment.c_str());
  return n_failed ? 1 : 0;
}

}  // namespace

void mark_runs_of_dead_workers(const std::string& db_path, const std::vector<pid_t>& pids,
                               const std::string& message) {
  store::Store db(db_path);
  for (const auto& experiment : db.experiments()) {
    for (const auto& run : db.runs(experiment)) {
      if (run.status != "running") continue;
      for (const pid_t pid : pids) {
        if (run.owner != owner_id(pid)) continue;
        db.set_run_status(run.id, "failed", message + "; re-run to resume from its last checkpoint");
        std::fprintf(stderr, "[%s] marked failed: %s\n", run.name.c_str(), message.c_str());
      }
    }
  }
}

int run_experiment(const ExperimentRequest& request) {
  auto plugins = std::make_shared<plugin::PluginRegistry>(request.plugin_dir);
  const spec::SpecRequest spec_request{
      request.experiment, request.overrides, request.config_dirs, request.single_run,
      request.dist ? request.dist->world_size : request.plan_world_size};
  const auto specs = spec::build_run_specs(spec_request, plugins);
  if (request.single_run && specs.size() != 1) {
    throw std::runtime_error("'attnlab train' trains one config, but these overrides make " +
                             std::to_string(specs.size()) +
                             " cells; use 'attnlab run' for a matrix or sweep");
  }
  for (const auto& spec : specs) eval_settings_of(spec.cell);  // eval: checked up front
  if (request.dry_run) {
    print_plan(std::cout, specs, request.plan_world_size,
               stored_statuses(request.db_path, specs.front().experiment));
    std::cout << std::flush;
    spec::check_runnable(specs);
    std::printf("dry run: every check passed; nothing was written\n");
    return 0;
  }
  spec::check_runnable(specs);
  const bool rank0 = !request.dist || request.dist->rank == 0;
  if (!rank0) return run_cells_as_follower(request, specs, *plugins);
  store::Store db(request.db_path);
  const auto todo = register_runs(db, specs, request, specs.front().cell.source_file.string());
  return train_all(db, todo, specs, request, *plugins);
}

}  // namespace attnlab::run
