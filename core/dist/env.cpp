// The launcher environment parsing (see distributed_env.h). No LibTorch here.
#include "attnlab/dist/env.h"

#include <cstdlib>

namespace attnlab::dist {

namespace {

int parse_int(const std::string& name, const char* text, int min_value) {
  const std::string value = text;
  size_t used = 0;
  long parsed = 0;
  try {
    parsed = std::stol(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (value.empty() || used != value.size() || parsed < min_value || parsed > 1 << 30) {
    throw DistEnvError("environment variable " + name + "='" + value + "' is not an integer >= " +
                       std::to_string(min_value) + "; fix or unset it");
  }
  return static_cast<int>(parsed);
}

const char* required(const EnvLookup& getenv, const char* name, const std::string& because) {
  const char* value = getenv(name);
  if (!value || !*value) {
    throw DistEnvError(std::string("environment variable ") + name + " is not set, but " +
                       because + "; set it (see docs/DISTRIBUTED.md)");
  }
  return value;
}

// torchrun writes Python's str(bool): "True" or "False".
bool parse_python_bool(const std::string& name, const char* text) {
  const std::string value = text;
  if (value == "True") return true;
  if (value == "False") return false;
  throw DistEnvError("environment variable " + name + "='" + value +
                     "' is not True or False (as torchrun sets it); fix or unset it");
}

}  // namespace

std::string slurm_first_host(const std::string& nodelist) {
  // The first entry ends at a ',' outside brackets.
  size_t end = 0;
  int depth = 0;
  for (; end < nodelist.size(); ++end) {
    if (nodelist[end] == '[') ++depth;
    if (nodelist[end] == ']') --depth;
    if (nodelist[end] == ',' && depth == 0) break;
  }
  const std::string first = nodelist.substr(0, end);
  const auto open = first.find('[');
  if (open == std::string::npos) {
    if (first.empty()) throw DistEnvError("SLURM_JOB_NODELIST is empty; set MASTER_ADDR");
    return first;
  }
  const auto close = first.find(']', open);
  if (close == std::string::npos || close == open + 1) {
    throw DistEnvError("SLURM_JOB_NODELIST='" + nodelist +
                       "' has an unbalanced or empty '[...]'; set MASTER_ADDR instead");
  }
  // The first element of the range list "03-05,09" is "03" (leading zeros kept).
  const std::string ranges = first.substr(open + 1, close - open - 1);
  const auto cut = ranges.find_first_of(",-");
  return first.substr(0, open) + ranges.substr(0, cut) + first.substr(close + 1);
}

std::vector<std::string> parse_device_list(const std::string& text) {
  std::vector<std::string> devices;
  size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    const auto dash = item.find('-');
    const std::string what = "--devices '" + text + "'";
    if (dash == std::string::npos) {
      devices.push_back(std::to_string(parse_int(what, item.c_str(), 0)));
    } else {
      const int first = parse_int(what, item.substr(0, dash).c_str(), 0);
      const int last = parse_int(what, item.substr(dash + 1).c_str(), 0);
      if (last < first) throw DistEnvError(what + ": range '" + item + "' runs backwards");
      for (int d = first; d <= last; ++d) devices.push_back(std::to_string(d));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (size_t i = 0; i < devices.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (devices[i] == devices[j]) {
        throw DistEnvError("--devices '" + text + "' lists device " + devices[i] + " twice");
      }
    }
  }
  return devices;
}

std::optional<DistEnv> parse_dist_env(const EnvLookup& getenv) {
  DistEnv env;
  if (const char* world = getenv("WORLD_SIZE")) {
    env.source = "torchrun";
    env.world_size = parse_int("WORLD_SIZE", world, 1);
    const std::string because = "WORLD_SIZE is (a torchrun-style launch)";
    env.rank = parse_int("RANK", required(getenv, "RANK", because), 0);
    const char* local = getenv("LOCAL_RANK");
    env.local_rank = local ? parse_int("LOCAL_RANK", local, 0) : env.rank;
    env.master_addr = required(getenv, "MASTER_ADDR", because);
    env.master_port = parse_int("MASTER_PORT", required(getenv, "MASTER_PORT", because), 1);
    if (const char* agent = getenv("TORCHELASTIC_USE_AGENT_STORE")) {
      env.agent_store = parse_python_bool("TORCHELASTIC_USE_AGENT_STORE", agent);
    }
    if (const char* restarts = getenv("TORCHELASTIC_RESTART_COUNT")) {
      env.restart_count = parse_int("TORCHELASTIC_RESTART_COUNT", restarts, 0);
    }
  } else if (const char* ntasks = getenv("SLURM_NTASKS")) {
    const int n = parse_int("SLURM_NTASKS", ntasks, 1);
    if (n == 1) return std::nullopt;  // a one-task job: an ordinary single-process run
    if (!getenv("SLURM_STEP_ID") && !getenv("SLURM_STEPID")) {
      throw DistEnvError("SLURM_NTASKS=" + std::string(ntasks) +
                         " but this process is not an srun step (SLURM_STEP_ID is not set): it is "
                         "a batch script or an salloc shell, whose ranks would never come. Start "
                         "attnlab with `srun attnlab ...` (scripts/slurm/attnlab.sbatch), or "
                         "unset SLURM_NTASKS for one process");
    }
    env.source = "slurm";
    env.world_size = n;
    const std::string because = "SLURM_NTASKS=" + std::string(ntasks) + " (an srun step)";
    env.rank = parse_int("SLURM_PROCID", required(getenv, "SLURM_PROCID", because), 0);
    env.local_rank = parse_int("SLURM_LOCALID", required(getenv, "SLURM_LOCALID", because), 0);
    const char* addr = getenv("MASTER_ADDR");
    env.master_addr = addr && *addr
                          ? std::string(addr)
                          : slurm_first_host(required(getenv, "SLURM_JOB_NODELIST", because));
    const char* port = getenv("MASTER_PORT");
    env.master_port = port ? parse_int("MASTER_PORT", port, 1) : 29500;
  } else {
    return std::nullopt;
  }
  if (env.rank >= env.world_size) {
    throw DistEnvError("rank " + std::to_string(env.rank) + " is not below the world size " +
                       std::to_string(env.world_size) + " (" + env.source + " environment)");
  }
  if (env.master_port > 65535) {
    throw DistEnvError("MASTER_PORT=" + std::to_string(env.master_port) + " is not a TCP port");
  }
  if (const char* device = getenv("ATTNLAB_DEVICE")) env.device_id = device;
  if (const char* threads = getenv("ATTNLAB_INTRA_OP_THREADS")) {
    env.intra_op_threads = parse_int("ATTNLAB_INTRA_OP_THREADS", threads, 1);
  }
  return env;
}

std::optional<DistEnv> parse_dist_env_from_process() {
  return parse_dist_env([](const char* name) { return std::getenv(name); });
}

}  // namespace attnlab::dist
