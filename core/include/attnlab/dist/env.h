// Who this process is in a data-parallel job, read from the environment that a launcher sets:
// `attnlab run --nproc-per-node N` (and torchrun) set RANK, LOCAL_RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT; Slurm's srun sets SLURM_PROCID, SLURM_LOCALID, SLURM_NTASKS and
// SLURM_JOB_NODELIST. Pure functions without LibTorch, so the parsing is unit-tested alone.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnlab::dist {

// A malformed or inconsistent launcher environment; the message names the variable.
class DistEnvError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DistEnv {
  int rank = 0;
  int local_rank = 0;
  int world_size = 1;
  std::string master_addr;  // where the rendezvous TCPStore listens
  int master_port = 0;
  // TORCHELASTIC_USE_AGENT_STORE=True (torchrun's default "static" rendezvous): torchrun's agent
  // already serves the TCPStore at MASTER_ADDR:MASTER_PORT, so every rank, rank 0 included,
  // connects to it as a client. Otherwise rank 0 serves it.
  bool agent_store = false;
  // TORCHELASTIC_RESTART_COUNT: torchrun's restart attempt (0 without restarts); the ranks'
  // keys in a long-lived agent store are scoped by it, so a restarted group never reads the
  // keys of a previous attempt.
  int restart_count = 0;
  std::string source;       // "torchrun" (RANK/WORLD_SIZE, also our launcher) or "slurm"
  std::string device_id;    // ATTNLAB_DEVICE: the device (or CPU slot) this rank uses; may be empty
  int intra_op_threads = 0; // ATTNLAB_INTRA_OP_THREADS: threads when train.threads=0; 0 = unset
};

// Returns the value of an environment variable, or nullptr when it is unset.
using EnvLookup = std::function<const char*(const char*)>;

// The distributed identity of this process, or nullopt when no launcher environment is present
// (WORLD_SIZE unset and not inside a Slurm step with more than one task). RANK/WORLD_SIZE win
// over the SLURM_* variables. Slurm: MASTER_ADDR from the environment, else the first host of
// SLURM_JOB_NODELIST; MASTER_PORT from the environment, else 29500.
std::optional<DistEnv> parse_dist_env(const EnvLookup& getenv);
std::optional<DistEnv> parse_dist_env_from_process();  // the real environment

// The first host of a Slurm node list: "node[03-05,09],gpu1" -> "node03".
std::string slurm_first_host(const std::string& nodelist);

// A device list for --devices: "0-3", "0,2,5", "0-1,4" -> {"0","1","4"}; errors name the text.
std::vector<std::string> parse_device_list(const std::string& text);

}  // namespace attnlab::dist
