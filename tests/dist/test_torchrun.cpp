// attnlab as a torchrun worker (`torchrun --no_python build/attnlab train …`) on CPU: torchrun's
// agent serves the rendezvous TCPStore itself (TORCHELASTIC_USE_AGENT_STORE=True), so every
// rank must join it as a client. One node with 2 workers, and two "nodes" with 1 worker each
// (two torchrun agents on 127.0.0.1, --node_rank 0 and 1), must train like our own launcher's
// 2-rank run of the same experiment, with only rank 0 writing the store and the checkpoints.
//
// Debian's torchrun (LibTorch 1.13, Python 3.11) spells its flags with '_' and crashes in its
// own argument handling with the default redirects; `-r 2 -t 2` (stderr to a log file and
// teed, prefixed with the rank) avoids it. Without torchrun on PATH the test fails under CI
// (CI non-empty) and is skipped elsewhere (exit 77: CTest's SKIP_RETURN_CODE for dist_torchrun).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "attnlab/dist/launch.h"
#include "dist_run.h"

namespace fs = std::filesystem;
using namespace attnlab::test;

namespace {

const std::string kOverrides = std::string(kTinyOverrides) + " train.steps=6";

void require_torchrun() {
  if (std::system("command -v torchrun > /dev/null 2>&1") == 0) return;
  const char* ci = std::getenv("CI");
  if (ci && *ci) FAIL("torchrun is not on PATH but CI is set: install python3-torch (scripts/setup.sh)");
  std::fprintf(stderr, "torchrun is not on PATH: skipped (apt-get install python3-torch)\n");
  std::exit(77);
}

// `torchrun` for node `node_rank` of `nnodes` with `nproc` workers each, its logs in `dir`.
std::string torchrun(const fs::path& dir, int nnodes, int node_rank, int nproc, int port) {
  return "timeout 120 torchrun --nnodes " + std::to_string(nnodes) + " --node_rank " +
         std::to_string(node_rank) + " --nproc_per_node " + std::to_string(nproc) +
         " -r 2 -t 2 --log_dir " + (dir / ("logs" + std::to_string(node_rank))).string() +
         " --master_addr 127.0.0.1 --master_port " + std::to_string(port) +
         " --no_python " ATTNLAB_BINARY_DIR "/attnlab ";
}

// The run in `db` finished, is the only run folder beside `db`, and has the reference's losses.
void check_like_reference(const fs::path& db, const std::vector<double>& reference) {
  CHECK(the_run(db).status == "finished");
  std::vector<std::string> run_dirs;
  for (const auto& e : fs::directory_iterator(db.parent_path() / "runs" / db.stem() / "dist_tiny")) {
    run_dirs.push_back(e.path().filename().string());
  }
  CHECK(run_dirs == std::vector<std::string>{the_run(db).name});
  CHECK(fs::exists(db.parent_path() / "runs" / db.stem() / "dist_tiny" / the_run(db).name /
                   "checkpoints" / "latest"));
  const auto loss = metric(db, "train/loss");
  REQUIRE(loss.size() == reference.size());
  for (size_t s = 0; s < loss.size(); ++s) {
    INFO("step " << s << ": " << loss[s] << " vs our launcher's " << reference[s]);
    CHECK(std::abs(loss[s] - reference[s]) < 1e-5);
  }
}

}  // namespace

TEST_CASE("under torchrun, 1 node x 2 workers and 2 nodes x 1 train like our launcher",
          "[torchrun]") {
  require_torchrun();
  const auto dir = fresh_dir("torchrun");
  const auto experiment = write_experiment(dir).string();
  const std::string train = "train " + experiment + kOverrides + " --db ";

  // Stale torchrun variables must not reach our launcher's workers.
  const auto ours = run_attnlab(train + (dir / "ours.db").string() + " --nproc-per-node 2",
                                "TORCHELASTIC_USE_AGENT_STORE=True TORCHELASTIC_RESTART_COUNT=1");
  INFO(ours.output);
  REQUIRE(ours.exit_code == 0);
  const auto reference = metric(dir / "ours.db", "train/loss");
  REQUIRE(reference.size() == 6);

  const auto one_node = dir / "one_node.db";
  const auto single = run_shell(torchrun(dir, 1, 0, 2, attnlab::dist::find_free_port()) + train +
                                one_node.string());
  INFO(single.output);
  REQUIRE(single.exit_code == 0);
  CHECK(single.output.find("data-parallel: 2 ranks") != std::string::npos);
  check_like_reference(one_node, reference);

  // Node 1 in the background; the exit codes of both agents are printed at the end.
  const auto two_nodes = dir / "two_nodes.db";
  const int port = attnlab::dist::find_free_port();
  const auto pair = run_shell("{ " + torchrun(dir, 2, 1, 1, port) + train + two_nodes.string() +
                              " & } && " + torchrun(dir, 2, 0, 1, port) + train +
                              two_nodes.string() + "; node0=$?; wait $!; echo \"exit codes: $node0 $?\"");
  INFO(pair.output);
  REQUIRE(pair.output.find("exit codes: 0 0") != std::string::npos);
  check_like_reference(two_nodes, reference);
  std::printf("our launcher %.1f s, torchrun 1 node %.1f s, 2 nodes %.1f s\n", ours.wall_s,
              single.wall_s, pair.wall_s);
  fs::remove_all(dir);
}
