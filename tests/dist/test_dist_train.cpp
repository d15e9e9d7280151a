// End-to-end data-parallel runs through the real `attnlab` binary on CPU (Gloo): a 2-rank run
// must equal a 1-rank run with twice the gradient accumulation, step by step and in its final
// weights; a rank killed mid-run must fail the run (marked in the store), leave no worker
// behind, and the re-run must resume from the last checkpoint.
//
// Why the equivalence is exact up to float rounding: the loader gives batch k of rank r the
// windows perm[(k*B + b)*W + r], b < B. With accumulation A, step s of a W-rank run reads on
// rank r the batches k = sA .. sA+A-1, i.e. windows perm[sABW .. (s+1)ABW) over all ranks: the
// 1-rank run with accumulation 2 and the 2-rank run with accumulation 1 read the same windows
// at every step, only split differently. Every window has T targets, so the mean loss over
// them is the same, and so is its gradient: the 1-rank run averages over its micro-batches
// (loss / grad_accum), the 2-rank run over its ranks (all-reduce sum / world size).
// Validation: rank r owns global batches r, r+W, ...; with (val_tokens-1)/T windows a multiple
// of B*W (here 1024/32 = 32), both runs evaluate the same batches, averaged over all of them.
// Only the summation order differs. MFU is checked against the declared peak times the world
// size in both runs.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "attnlab/store/store.h"
#include "dist_run.h"

namespace fs = std::filesystem;

namespace {

using namespace attnlab::test;

const std::string kOverrides = std::string(kTinyOverrides) + " train.steps=20";
constexpr double kPeakFlops = 1e11;  // one device's, declared above

double run_info(const fs::path& db, const std::string& key) {
  attnlab::store::Store store(db.string());
  const auto all = store.run_info(the_run(db).id);
  REQUIRE(all.count(key));
  return nlohmann::json::parse(all.at(key)).get<double>();
}

// train/mfu of every step and mfu_mean against FLOPs/token x tokens/s / (peak x world size),
// computed here from the run's FLOPs/token and throughput.
void check_mfu(const fs::path& db, int world_size) {
  const double flops_per_token = run_info(db, "flops_per_token");
  const double peak = kPeakFlops * world_size;
  const auto mfu = metric(db, "train/mfu"), tokens_per_s = metric(db, "train/tokens_per_s");
  REQUIRE(mfu.size() == tokens_per_s.size());
  REQUIRE_FALSE(mfu.empty());
  for (size_t s = 0; s < mfu.size(); ++s) {
    INFO("world size " << world_size << ", step " << s);
    CHECK(mfu[s] == Approx(flops_per_token * tokens_per_s[s] / peak).epsilon(1e-9));
  }
  CHECK(run_info(db, "mfu_mean") ==
        Approx(flops_per_token * run_info(db, "tokens_per_s_mean") / peak).epsilon(1e-9));
}

// The model tensors of the newest checkpoint of the run (file layout: checkpoint.h).
std::map<std::string, torch::Tensor> final_weights(const fs::path& db) {
  const auto dir = db.parent_path() / "runs" / db.stem() / "dist_tiny" / the_run(db).name / "checkpoints";
  std::string name;
  std::ifstream(dir / "latest") >> name;
  std::ifstream in(dir / name, std::ios::binary);
  REQUIRE(in);
  char magic[8];
  uint32_t version = 0;
  uint64_t bytes = 0;
  char sha[32];
  in.read(magic, 8).read(reinterpret_cast<char*>(&version), 4);
  in.read(reinterpret_cast<char*>(&bytes), 8).read(sha, 32);
  std::string payload(bytes, '\0');
  in.read(payload.data(), static_cast<std::streamsize>(bytes));
  REQUIRE(in);
  torch::serialize::InputArchive archive;
  archive.load_from(payload.data(), payload.size());
  std::map<std::string, torch::Tensor> weights;
  for (const auto& key : archive.keys()) {
    if (key.rfind("model.", 0) != 0) continue;
    torch::Tensor t;
    archive.read(key, t, true);
    weights[key] = t;
  }
  return weights;
}

bool workers_alive(const fs::path& db) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream cmdline(entry.path() / "cmdline");
    std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (text.find(db.string()) != std::string::npos && text.find("attnlab") != std::string::npos &&
        text.find("timeout") == std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("2 ranks train exactly like 1 rank with twice the gradient accumulation",
          "[dist][train]") {
  const auto dir = fresh_dir("equivalence");
  const auto experiment = write_experiment(dir).string();
  const auto db1 = dir / "one.db", db2 = dir / "two.db";

  const auto one = run_attnlab("train " + experiment + kOverrides +
                               " train.grad_accum=2 --db " + db1.string());
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  const auto two = run_attnlab("train " + experiment + kOverrides + " --nproc-per-node 2 --db " +
                               db2.string());
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  CHECK(two.output.find("data-parallel: 2 ranks") != std::string::npos);
  std::printf("1 rank x accum 2: %.1f s, 2 ranks x accum 1: %.1f s (whole process)\n", one.wall_s,
              two.wall_s);

  const auto loss1 = metric(db1, "train/loss"), loss2 = metric(db2, "train/loss");
  REQUIRE(loss1.size() == 20);
  REQUIRE(loss2.size() == 20);
  for (size_t s = 0; s < loss1.size(); ++s) {
    INFO("step " << s << ": " << loss1[s] << " vs " << loss2[s]);
    CHECK(std::abs(loss1[s] - loss2[s]) < 1e-5);
  }
  CHECK(loss1.back() < loss1.front() - 0.5);  // it trains: the comparison is not vacuous
  const auto val1 = metric(db1, "val/loss"), val2 = metric(db2, "val/loss");
  REQUIRE(val1.size() == 2);
  REQUIRE(val2.size() == 2);
  CHECK(std::abs(val1.back() - val2.back()) < 1e-5);
  CHECK(metric(db1, "train/tokens") == metric(db2, "train/tokens"));
  check_mfu(db1, 1);
  check_mfu(db2, 2);  // tokens/s counts both ranks' tokens, so the peak is both devices'

  const auto w1 = final_weights(db1), w2 = final_weights(db2);
  REQUIRE(w1.size() == w2.size());
  REQUIRE(w1.size() > 5);
  for (const auto& [name, t1] : w1) {
    INFO(name);
    REQUIRE(w2.count(name));
    CHECK((t1.to(torch::kFloat64) - w2.at(name).to(torch::kFloat64)).abs().max().item<double>() <
          1e-5);
  }
  fs::remove_all(dir);  // checkpoints are tens of MB
}

TEST_CASE("a killed rank fails the run, leaves no worker, and the re-run resumes",
          "[dist][failure]") {
  const auto dir = fresh_dir("killed");
  const auto experiment = write_experiment(dir).string();
  const auto db = dir / "killed.db";
  const std::string args = "train " + experiment + kOverrides + " --nproc-per-node 2 --db " +
                           db.string();

  const auto killed = run_attnlab(args, "ATTNLAB_DIST_KILL_AT=1:5");
  INFO(killed.output);
  // No time bound: a run that hangs is stopped by `timeout 120` and exits 124, not 1.
  CHECK(killed.exit_code == 1);
  CHECK(killed.output.find("rank 1") != std::string::npos);
  CHECK(killed.output.find("killed by signal 9") != std::string::npos);
  CHECK_FALSE(workers_alive(db));
  const auto failed = the_run(db);
  CHECK(failed.status == "failed");
  CHECK_FALSE(failed.message.empty());

  // Rank 0 killed: it cannot mark its own run, the launcher does (the run was `running` under
  // rank 0's pid). The re-run resumed from step 4 and checkpointed step 8 before the kill.
  const auto rank0_killed = run_attnlab(args, "ATTNLAB_DIST_KILL_AT=0:9");
  INFO(rank0_killed.output);
  CHECK(rank0_killed.exit_code == 1);
  CHECK(rank0_killed.output.find("resumed from the checkpoint at step 4") != std::string::npos);
  CHECK(rank0_killed.output.find("marked failed: rank 0") != std::string::npos);
  CHECK_FALSE(workers_alive(db));
  CHECK(the_run(db).status == "failed");

  const auto resumed = run_attnlab(args);
  INFO(resumed.output);
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.output.find("resumed from the checkpoint at step 8") != std::string::npos);
  CHECK(the_run(db).status == "finished");
  CHECK(metric(db, "train/loss").size() == 20);
  fs::remove_all(dir);
}
