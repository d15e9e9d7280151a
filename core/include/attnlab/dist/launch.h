// The single-node launcher behind `attnlab run --nproc-per-node N` and `--devices/--per-run`:
// forks and execs worker processes of this same binary with the torchrun environment (RANK,
// LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; plus ATTNLAB_DEVICE and
// ATTNLAB_INTRA_OP_THREADS), one process group per device set, each on its own free port.
// Workers die with the launcher (PR_SET_PDEATHSIG); SIGTERM/SIGINT are forwarded (preemption);
// when a worker fails, the rest of its group gets a grace period, then SIGKILL, and all are
// reaped. No LibTorch here.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace attnlab::dist {

struct LaunchPlan {
  std::vector<std::vector<std::string>> groups;  // device ids of each process group (a run)
  int intra_op_threads = 1;                      // per worker: cores / workers, at least 1
};

// --nproc-per-node N: one group of devices 0..N-1. --devices LIST --per-run K: LIST split into
// groups of K (its length must be a multiple of K). `cores` divides among all workers.
// Errors (std::invalid_argument) name the flag and what to do.
LaunchPlan plan_launch(int nproc_per_node, const std::string& devices, int per_run, int cores);

struct LaunchRequest {
  std::vector<std::string> worker_argv;  // argv[0] is ignored: workers exec /proc/self/exe
  LaunchPlan plan;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0: a free port per group; else ports master_port, master_port+1, ...
  std::chrono::seconds grace{30};  // after a worker fails, the rest of its group may take this
  // Called once per failed group after all its workers are reaped, with their pids and a
  // one-line description of the first failure (to mark its runs failed in the store).
  std::function<void(const std::vector<pid_t>&, const std::string&)> on_group_failed;
};

// Returns 0 when every worker exited 0, 3 (preempted) when some stopped on a signal and none
// failed, else 1. Prints one line per failed worker to stderr.
int launch_workers(const LaunchRequest& request);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released).
int find_free_port();

}  // namespace attnlab::dist
