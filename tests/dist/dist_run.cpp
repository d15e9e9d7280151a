// Helpers of the end-to-end data-parallel tests (see dist_run.h).
#include "dist_run.h"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace fs = std::filesystem;

namespace attnlab::test {

const char* const kTinyOverrides =
    " model.n_layer=2 train.seq_len=32 train.batch_size=1 train.warmup_steps=2"
    " train.eval_every=10 train.log_every=10 train.threads=1 data.val_tokens=1025"
    " train.checkpoint_every=4 train.dist_timeout_s=20 train.peak_flops=1e11";

fs::path fresh_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("attnlab_test_dist_" + std::to_string(getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

fs::path write_experiment(const fs::path& dir) {
  const auto path = dir / "dist_tiny.yaml";
  std::ofstream(path) << "defaults:\n  - model: tiny\n  - data: fineweb_sample\n"
                         "  - train: smoke\n  - attention: dense\n  - _self_\nseed: 3\n";
  return path;
}

Result run_shell(const std::string& command) {
  const std::string cmd = "cd " ATTNLAB_SOURCE_DIR " && export ATTNLAB_SHARED=" ATTNLAB_SHARED_DIR
                          " && " + command + " 2>&1";
  const auto t0 = std::chrono::steady_clock::now();
  Result r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

Result run_attnlab(const std::string& args, const std::string& env) {
  return run_shell(env + " timeout 120 " ATTNLAB_BINARY_DIR "/attnlab " + args);
}

store::RunRecord the_run(const fs::path& db) {
  store::Store store(db.string());
  const auto runs = store.runs("dist_tiny");
  REQUIRE(runs.size() == 1);
  return runs.front();
}

std::vector<double> metric(const fs::path& db, const std::string& name) {
  store::Store store(db.string());
  std::vector<double> values;
  for (const auto& p : store.metric(the_run(db).id, name)) values.push_back(p.value);
  return values;
}

void require_tool(const std::string& tool, const std::string& package) {
  if (std::system(("command -v " + tool + " > /dev/null 2>&1").c_str()) == 0) return;
  const char* ci = std::getenv("CI");
  if (ci && *ci) FAIL(tool + " is not on PATH but CI is set: install " + package + " (scripts/setup.sh --tests)");
  std::fprintf(stderr, "%s is not on PATH: skipped (apt-get install %s)\n", tool.c_str(), package.c_str());
  std::exit(77);
}

std::vector<double> our_launcher_losses(const std::string& train_args, const std::string& env) {
  const auto ours = run_attnlab(train_args + " --nproc-per-node 2", env);
  INFO(ours.output);
  REQUIRE(ours.exit_code == 0);
  const auto db = train_args.substr(train_args.rfind("--db ") + 5);
  return metric(db, "train/loss");
}

void check_like_reference(const fs::path& db, const std::vector<double>& reference) {
  CHECK(the_run(db).status == "finished");
  const auto experiment_dir = db.parent_path() / "runs" / db.stem() / "dist_tiny";
  std::vector<std::string> run_dirs;
  for (const auto& e : fs::directory_iterator(experiment_dir)) run_dirs.push_back(e.path().filename().string());
  CHECK(run_dirs == std::vector<std::string>{the_run(db).name});
  CHECK(fs::exists(experiment_dir / the_run(db).name / "checkpoints" / "latest"));
  const auto loss = metric(db, "train/loss");
  REQUIRE(loss.size() == reference.size());
  for (size_t s = 0; s < loss.size(); ++s) {
    INFO("step " << s << ": " << loss[s] << " vs our launcher's " << reference[s]);
    CHECK(std::abs(loss[s] - reference[s]) < 1e-5);
  }
}

}  // namespace attnlab::test
