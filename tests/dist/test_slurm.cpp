// attnlab under Slurm on one machine: scripts/slurm/local_cluster.sh starts munged, slurmctld
// and slurmd for one node on 127.0.0.1 in a scratch folder, and `sbatch --wait` of the example
// batch script scripts/slurm/attnlab.sbatch with 2 tasks on that node srun's attnlab. The ranks
// come from SLURM_PROCID / SLURM_LOCALID / SLURM_NTASKS and the rendezvous host from
// SLURM_JOB_NODELIST (MASTER_ADDR unset, when this host's name resolves). The run must train
// like our own launcher's 2-rank run of the same experiment, with only rank 0 writing the store
// and the checkpoints under ATTNLAB_RESULTS. The daemons are stopped by their PIDs whatever the
// outcome. Without Slurm and munge the test fails under CI (CI non-empty) and is skipped
// elsewhere (exit 77).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "attnlab/dist/launch.h"
#include "dist_run.h"

namespace fs = std::filesystem;
using namespace attnlab::test;

namespace {

const char* const kCluster = ATTNLAB_SOURCE_DIR "/scripts/slurm/local_cluster.sh";

// The one-node cluster of scripts/slurm/local_cluster.sh in `dir`, stopped when it goes.
class LocalCluster {
 public:
  explicit LocalCluster(fs::path dir) : dir_(std::move(dir)) {
    const auto up = run_shell(std::string(kCluster) + " start " + dir_.string());
    INFO(up.output);
    REQUIRE(up.exit_code == 0);  // on failure the script has stopped what it started
    started_ = true;
  }
  ~LocalCluster() {
    if (!started_) return;
    const std::string stop = std::string(kCluster) + " stop " + dir_.string() + " > /dev/null";
    if (std::system(stop.c_str()) != 0) std::fprintf(stderr, "could not stop the daemons of %s\n", dir_.c_str());
  }
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;
  fs::path conf() const { return dir_ / "slurm.conf"; }

 private:
  fs::path dir_;
  bool started_ = false;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// MASTER_ADDR unset, so the ranks take the node list's host (this host's short name), unless
// that name does not resolve here: then 127.0.0.1, and the test says so.
std::string master_addr_setting() {
  if (std::system("getent hosts \"$(hostname -s)\" > /dev/null 2>&1") == 0) return "unset MASTER_ADDR;";
  std::fprintf(stderr, "this host's name does not resolve: MASTER_ADDR=127.0.0.1 instead of the node list\n");
  return "export MASTER_ADDR=127.0.0.1;";
}

}  // namespace

TEST_CASE("sbatch of 2 tasks that srun attnlab trains like our launcher", "[slurm]") {
  for (const char* tool : {"slurmctld", "slurmd", "sbatch", "munged"}) {
    require_tool(tool, "slurmctld slurmd slurm-client munge");
  }
  const auto dir = fresh_dir("slurm");
  const std::string train = "train " + write_experiment(dir).string() + kTinyOverrides +
                            " train.steps=6";
  const auto reference = our_launcher_losses(train + " --db " + (dir / "ours.db").string());
  REQUIRE(reference.size() == 6);

  const auto results = dir / "results";
  const auto log = dir / "slurm.out";
  Result job;
  {
    const LocalCluster cluster(dir / "cluster");
    // The test's overrides and ATTNLAB_SHARED travel with sbatch's default --export=ALL.
    job = run_shell(master_addr_setting() + " SLURM_CONF=" + cluster.conf().string() +
                    " ATTNLAB=" ATTNLAB_BINARY_DIR "/attnlab ATTNLAB_RESULTS=" + results.string() +
                    " MASTER_PORT=" + std::to_string(attnlab::dist::find_free_port()) +
                    " timeout 300 sbatch --wait --nodes=1 --ntasks-per-node=2 --gpus-per-node=0"
                    " --cpus-per-task=1 --time=4 --output=" + log.string() +
                    " scripts/slurm/attnlab.sbatch " + train);
  }  // the daemons are stopped here
  const auto job_log = read_file(log);
  INFO(job.output << "\n--- job output ---\n" << job_log);
  REQUIRE(job.exit_code == 0);
  CHECK(job_log.find("data-parallel: 2 ranks") != std::string::npos);
  check_like_reference(results / "attnlab.db", reference);
  std::printf("sbatch job of 2 tasks: %.1f s (submission to exit)\n", job.wall_s);
  fs::remove_all(dir);
}
