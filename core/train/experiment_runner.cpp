// run_experiment: the matrix loop behind `attnlab run` and `attnlab train`.
#include "attnlab/train/experiment_runner.h"

#include <c10/util/Exception.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "attnlab/code_version.h"
#include "attnlab/config/config.h"
#include "attnlab/config/yaml_writer.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/schemas.h"
#include "attnlab/store/store.h"
#include "attnlab/train/distributed.h"
#include "attnlab/train/run_cell.h"
#include "attnlab/train/store_sink.h"

namespace attnlab::train {

namespace {

std::string run_name(const config::ResolvedConfig& cell) {
  return cell.cell_name.empty() ? "default" : cell.cell_name;
}

// "key: stored -> requested" for each results-relevant key where a stored run's config and
// this cell's differ (at most `limit`, then "..."); empty when they agree.
std::string config_changes(const std::string& stored_json, const nlohmann::json& requested,
                           size_t limit = 4) {
  const auto before = results_relevant_config(nlohmann::json::parse(stored_json));
  const auto after = results_relevant_config(requested);
  std::string out;
  size_t n = 0;
  for (const auto& op : nlohmann::json::diff(before, after)) {
    const nlohmann::json::json_pointer at(op.at("path").get<std::string>());
    // A key only one side has came or went with another attnlab version, not with this run.
    const bool key_of_one_side = op.at("op") != "replace" && before.contains(at.parent_pointer()) &&
                                 before.at(at.parent_pointer()).is_object();
    if (key_of_one_side) continue;
    if (n++ == limit) return out + ", ...";
    std::string key = at.to_string().substr(1);
    std::replace(key.begin(), key.end(), '/', '.');
    const auto value = [&](const nlohmann::json& tree) {
      return tree.contains(at) ? tree.at(at).dump() : std::string("(absent)");
    };
    out += (out.empty() ? "" : ", ") + key + ": " + value(before) + " -> " + value(after);
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

// results/attnlab.db -> results/runs/attnlab/<experiment>/<run name, '/' and ' ' replaced>
std::filesystem::path run_dir(const std::string& db_path, const std::string& experiment,
                              const std::string& name) {
  std::string safe = name;
  for (auto& ch : safe) {
    if (ch == '/' || ch == ' ' || ch == '\\') ch = '_';
  }
  const auto db = std::filesystem::absolute(db_path);
  return db.parent_path() / "runs" / db.stem() / experiment / safe;
}

std::string owner_id(pid_t pid = getpid()) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return std::string(host) + ":" + std::to_string(pid);
}

// The process group of a worker in a multi-rank launch, with the longest collective timeout
// any cell asks for; null for a single process.
std::unique_ptr<Communicator> make_communicator(const ExperimentRequest& request,
                                                const std::vector<config::ResolvedConfig>& cells) {
  if (!request.dist || request.dist->world_size == 1) return nullptr;
  int64_t timeout_s = 0;
  for (const auto& cell : cells) {
    timeout_s = std::max(timeout_s, cell.tree.at("train").at("dist_timeout_s").get<int64_t>());
  }
  const auto device = cells.front().tree.at("train").at("device").get<std::string>();
  return std::make_unique<Communicator>(*request.dist, std::chrono::seconds(timeout_s),
                                        device == "cuda" ? "nccl" : "gloo");
}

// A run left `running` by a process on this host that no longer exists (killed, crashed):
// it can be claimed again and resumes from its checkpoint.
bool owner_is_gone(const std::string& owner) {
  const auto colon = owner.rfind(':');
  if (colon == std::string::npos) return false;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  if (owner.substr(0, colon) != host) return false;  // another machine: trust its heartbeat
  const pid_t pid = static_cast<pid_t>(std::stol(owner.substr(colon + 1)));
  return pid != getpid() && ::kill(pid, 0) != 0 && errno == ESRCH;
}

// c10::Error's what() carries a C++ backtrace: users get the message alone.
std::string error_message(const std::exception& e) {
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

CellOptions cell_options_for(const ExperimentRequest& request, const std::string& experiment,
                             const std::string& name, Communicator* dist) {
  CellOptions cell_options;
  cell_options.run_dir = run_dir(request.db_path, experiment, name);
  cell_options.peak_flops_cache =
      std::filesystem::absolute(request.db_path).parent_path() / "peak_flops.json";
  cell_options.restart = request.restart;
  cell_options.stop_requested = &g_stop_requested;
  cell_options.log_prefix = "[" + name + "] ";
  cell_options.dist = dist;
  if (request.dist) cell_options.intra_op_threads = request.dist->intra_op_threads;
  return cell_options;
}

// Ranks other than 0 of a process group: train the cell whose index rank 0 broadcasts, until
// it broadcasts -1. They never open the store and keep stdout quiet (rank 0 reports).
int run_cells_as_follower(const ExperimentRequest& request,
                          std::vector<config::ResolvedConfig>& cells,
                          plugin::PluginRegistry& plugins) {
  if (!std::freopen("/dev/null", "w", stdout)) {
    throw std::runtime_error("rank " + std::to_string(request.dist->rank) +
                             ": cannot redirect stdout to /dev/null");
  }
  install_stop_handlers();
  auto dist = make_communicator(request, cells);
  NullSink sink;
  for (;;) {
    const int64_t index = dist->broadcast_int(-1);
    if (index < 0) return 0;
    auto& cell = cells.at(static_cast<size_t>(index));
    const auto name = run_name(cell);
    try {
      const auto result =
          run_cell(cell, plugins, sink, cell_options_for(request, cell.experiment, name, dist.get()));
      if (result.preempted) return kExitPreempted;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "[%s] failed: %s\n", name.c_str(), error_message(e).c_str());
      return 1;
    }
  }
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
  const auto schemas = build_schema_registry(plugins);
  config::ComposeOptions compose;
  compose.search_path = request.config_dirs;
  compose.schema = &schemas;
  const auto experiment_file = config::resolve_experiment_path(request.experiment, compose);
  auto cells = config::compose_experiment(experiment_file, request.overrides, compose);
  for (auto& cell : cells) schemas.validate(cell);  // every cell, before anything trains
  if (request.single_run && cells.size() != 1) {
    throw std::runtime_error("'attnlab train' trains one config, but these overrides make " +
                             std::to_string(cells.size()) +
                             " cells; use 'attnlab run' for a matrix or sweep");
  }

  const std::string experiment = cells.front().experiment;
  const bool rank0 = !request.dist || request.dist->rank == 0;
  if (!rank0) return request.dry_run ? 0 : run_cells_as_follower(request, cells, *plugins);
  store::Store db(request.db_path);
  db.upsert_experiment(experiment, experiment_file.string(),
                       nlohmann::json{{"overrides", request.overrides}}.dump());

  struct Pending {
    config::ResolvedConfig* cell;
    store::RunRecord run;
  };
  std::vector<Pending> todo;
  // A finished run is never silently kept for, or overwritten by, another config: checked for
  // every cell before any run is created; with --restart such runs are trained over.
  std::map<std::string, store::RunRecord> stored;
  for (auto& run : db.runs(experiment)) stored.emplace(run.name, std::move(run));
  std::set<std::string> to_replace;
  for (const auto& cell : cells) {
    const auto it = stored.find(run_name(cell));
    if (it == stored.end() || it->second.status != "finished") continue;
    const auto changes = config_changes(it->second.config_json, cell.tree);
    if (changes.empty()) continue;
    if (!request.restart) {
      throw std::runtime_error(
          request.db_path + ": run '" + experiment + "/" + it->first +
          "' finished with another config (" + changes +
          "); its results stay as they are. Give these runs their own experiment name "
          "(experiment.name=NAME) or, to replace that run, add --restart");
    }
    to_replace.insert(it->first);
  }
  int n_finished = 0;
  for (auto& cell : cells) {
    const auto variant = cell.tree.at("attention").at("variant").get<std::string>();
    const auto seed = cell.tree.at("seed").get<int64_t>();
    const auto config_json = cell.tree.dump(2), config_yaml = config::to_yaml(cell.tree);
    const auto overrides_json = nlohmann::json(cell.overrides).dump();
    auto run = db.get_or_create_run(experiment, run_name(cell), variant, seed, config_json,
                                    config_yaml, overrides_json, code_version());
    if (run.status == "finished") {
      if (!to_replace.count(run.name)) {
        ++n_finished;
        continue;
      }
      if (!request.dry_run) db.set_run_status(run.id, "pending");  // a dry run only lists it
      run.status = "finished, to be replaced";
    }
    if (request.restart) {  // the run starts over with this config: store what it runs
      db.update_run_config(run.id, variant, seed, config_json, config_yaml, overrides_json,
                           code_version());
    }
    todo.push_back({&cell, run});
  }
  std::printf("experiment %s: %zu cells, %d finished already, %zu to run (db %s)\n",
              experiment.c_str(), cells.size(), n_finished, todo.size(), request.db_path.c_str());
  if (request.dry_run) {
    for (const auto& p : todo) std::printf("  %s [%s]\n", p.run.name.c_str(), p.run.status.c_str());
    return 0;
  }

  install_stop_handlers();
  const auto dist = make_communicator(request, cells);
  if (dist) {
    std::printf("data-parallel: %d ranks (%s environment), rank 0 reports\n", dist->world_size(),
                request.dist->source.c_str());
  }
  int n_failed = 0;
  size_t n_trained = 0;  // by this process (another scheduler may train some of `todo`)
  const auto t_start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < todo.size(); ++i) {
    const auto& [cell, run] = todo[i];
    if (run.status == "running" && owner_is_gone(run.owner)) {
      db.set_run_status(run.id, "failed", "its process (" + run.owner + ") died; resuming");
    }
    if (!db.claim_run(run.id, owner_id())) {
      std::printf("[%zu/%zu] %s: claimed by another process, skipped\n", i + 1, todo.size(),
                  run.name.c_str());
      continue;
    }
    std::printf("[%zu/%zu] %s: training\n", i + 1, todo.size(), run.name.c_str());
    std::fflush(stdout);
    StoreSink sink(db, run.id);
    try {
      if (dist) dist->broadcast_int(cell - cells.data());  // the followers train it too
      const auto result = run_cell(*cell, *plugins, sink,
                                   cell_options_for(request, experiment, run.name, dist.get()));
      if (result.preempted) {
        db.set_run_status(run.id, "preempted",
                          "stopped by a signal after step " + std::to_string(result.steps));
        std::printf("experiment %s: preempted; run the same command again to resume\n",
                    experiment.c_str());
        return kExitPreempted;
      }
      db.set_run_status(run.id, "finished");
      ++n_trained;
    } catch (const std::exception& e) {
      const auto message = error_message(e);
      db.set_run_status(run.id, "failed", message);
      std::fprintf(stderr, "[%s] failed: %s\n", run.name.c_str(), message.c_str());
      ++n_failed;
      if (dist) return 1;  // the process group may be broken: the whole group stops
    }
  }
  if (dist) dist->broadcast_int(-1);  // no more cells
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("experiment %s: %zu trained in %.0f s, %d failed; report: attnlab report --experiment %s\n",
              experiment.c_str(), n_trained, wall, n_failed, experiment.c_str());
  return n_failed ? 1 : 0;
}

}  // namespace attnlab::train
