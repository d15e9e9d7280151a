// resolve_target and load_run: a stored run and its newest checkpoint (see attnlab/run/load_run.h).
#include "attnlab/run/load_run.h"

#include <algorithm>
#include <cctype>

#include "attnlab/config/identity.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/spec/build_model.h"
#include "attnlab/spec/run_names.h"
#include "attnlab/train/checkpoint.h"
#include "attnlab/train/optimizer.h"
#include "attnlab/util/sha256.h"

namespace attnlab::run {

namespace {

namespace fs = std::filesystem;

bool all_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string infer_db(const fs::path& run_dir) {
  const auto stem_dir = fs::absolute(run_dir).lexically_normal().parent_path().parent_path();
  const auto db = stem_dir.parent_path().parent_path() / (stem_dir.filename().string() + ".db");
  if (stem_dir.parent_path().filename() != "runs" || !fs::exists(db)) {
    throw TargetError("cannot tell which results store " + run_dir.string() +
                      " belongs to (expected it under <dir>/runs/<db>/<experiment>/<run> beside "
                      "<dir>/<db>.db); give it with --db PATH");
  }
  return db.string();
}

store::RunRecord find_run(const store::Store& store, const std::string& experiment,
                          const std::string& name) {
  std::vector<store::RunRecord> found;
  for (const auto& e : store.experiments()) {
    if (!experiment.empty() && e != experiment) continue;
    for (const auto& r : store.runs(e)) {
      if (r.name == name) found.push_back(r);
    }
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    throw TargetError("no run named '" + (experiment.empty() ? "" : experiment + "/") + name +
                      "' in " + store.path() +
                      " (`attnlab report --experiment NAME` lists an experiment's runs; a "
                      "checkpoint path works too)");
  }
  throw TargetError("run name '" + name + "' is in several experiments of " + store.path() +
                    "; say which, as EXPERIMENT/" + name);
}

// A path given on the command line: a .ckpt file, a checkpoints/ folder or a run folder.
RunTarget target_from_path(const fs::path& path, const std::optional<std::string>& db) {
  RunTarget t;
  fs::path run_dir;
  if (fs::is_regular_file(path)) {
    if (path.extension() != ".ckpt") {
      throw TargetError(path.string() + " is not a checkpoint (step_*.ckpt)");
    }
    t.checkpoint = path;
    run_dir = fs::absolute(path).parent_path().parent_path();
  } else if (fs::is_directory(path / "checkpoints")) {
    run_dir = path;
    t.checkpoint = path / "checkpoints";
  } else if (path.filename() == "checkpoints" || fs::absolute(path).filename() == "checkpoints") {
    run_dir = fs::absolute(path).parent_path();
    t.checkpoint = path;
  } else {
    throw TargetError(path.string() +
                      " is neither a run folder (with checkpoints/), its "
                      "checkpoints/ folder nor a step_*.ckpt file");
  }
  run_dir = fs::absolute(run_dir).lexically_normal();
  t.db = db ? *db : infer_db(run_dir);
  const auto store = store::open_store_to_read(t.db);
  t.run = find_run(*store, run_dir.parent_path().filename().string(), run_dir.filename().string());
  return t;
}

// Loads the newest checkpoint of the folder that verifies, or the one file given.
std::optional<train::CheckpointMeta> load_checkpoint(const fs::path& checkpoint,
                                                     model::Decoder& model,
                                                     torch::optim::Optimizer& optimizer,
                                                     const std::string& fingerprint) {
  if (fs::is_directory(checkpoint)) {
    return train::CheckpointManager(checkpoint, 1).load_latest(*model, optimizer, fingerprint);
  }
  return train::load_checkpoint_file(checkpoint, *model, optimizer, fingerprint);
}

}  // namespace

RunTarget resolve_target(const std::string& word, const std::optional<std::string>& db,
                         const std::string& default_db) {
  if (fs::exists(word)) return target_from_path(word, db);
  RunTarget t;
  t.db = db ? *db : default_db;
  if (!fs::exists(t.db)) {
    throw TargetError("'" + word + "' is not an existing path, and the results store " + t.db +
                      " to look it up as a run does not exist (give --db PATH)");
  }
  const auto store = store::open_store_to_read(t.db);
  const auto slash = word.find('/');
  if (all_digits(word)) {
    t.run = store->run(std::stoll(word));
  } else if (slash != std::string::npos && word.find('/', slash + 1) == std::string::npos) {
    t.run = find_run(*store, word.substr(0, slash), word.substr(slash + 1));
  } else if (slash == std::string::npos) {
    t.run = find_run(*store, "", word);
  } else {
    throw TargetError(word + " does not exist (a checkpoint path) and is not EXPERIMENT/RUN");
  }
  t.checkpoint =
      spec::run_directory(spec::runs_root(t.db), t.run.experiment, t.run.name) / "checkpoints";
  return t;
}

LoadedRun load_run(const RunTarget& target, const nlohmann::json& tree,
                   plugin::PluginRegistry& plugins) {
  if (!fs::exists(target.checkpoint)) {
    throw std::runtime_error("run " + target.run.experiment + "/" + target.run.name + " (" +
                             target.run.status + ") has no checkpoint folder " +
                             target.checkpoint.string() + "; train it first (attnlab run)");
  }
  LoadedRun loaded{spec::build_model(tree, plugins),
                   tree.at("attention").at("variant").get<std::string>(), 0};
  auto optimizer = train::make_adamw(*loaded.model, train::TrainConfig::from_json(tree.at("train")),
                                     loaded.model->grouped_parameters());
  const auto identity = config::results_identity(tree).dump();
  const auto meta = load_checkpoint(target.checkpoint, loaded.model, *optimizer.adamw,
                                    util::sha256_hex(identity.data(), identity.size()));
  if (!meta) {
    throw std::runtime_error("no loadable checkpoint in " + target.checkpoint.string() +
                             " (warnings above say why; train the run first: attnlab run)");
  }
  loaded.trained_steps = meta->progress.next_step;
  loaded.model->eval();
  return loaded;
}

}  // namespace attnlab::run
