// The single-node worker launcher (see distributed_launch.h).
#include "attnlab/dist/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "attnlab/dist/env.h"

namespace attnlab::dist {

namespace {

std::atomic<int> g_forward_signal{0};
extern "C" void remember_signal(int sig) { g_forward_signal.store(sig); }

struct Worker {
  pid_t pid = 0;
  int group = 0, rank = 0;
  bool running = true;
  int exit_code = 0;  // 128 + signal when killed
};

std::string describe_exit(const Worker& w, int status) {
  const std::string who = "rank " + std::to_string(w.rank) + " (pid " + std::to_string(w.pid) +
                          ")";
  if (WIFSIGNALED(status)) {
    return who + " was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return who + " exited with code " + std::to_string(WEXITSTATUS(status));
}

[[noreturn]] void exec_worker(const LaunchRequest& request, pid_t launcher, int group, int rank,
                              int port) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != launcher) _exit(1);  // the launcher died before prctl
  // Its own process group: a terminal's Ctrl-C (or `timeout`) reaches the launcher only, which
  // forwards it once; a second signal would kill a worker before it checkpoints.
  setpgid(0, 0);
  const auto& devices = request.plan.groups[group];
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(devices.size()).c_str(), 1);
  setenv("MASTER_ADDR", request.master_addr.c_str(), 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  setenv("ATTNLAB_DEVICE", devices[rank].c_str(), 1);
  setenv("ATTNLAB_INTRA_OP_THREADS", std::to_string(request.plan.intra_op_threads).c_str(), 1);
  // A launcher itself started under torchrun must not hand its agent's store to its workers.
  unsetenv("TORCHELASTIC_USE_AGENT_STORE");
  unsetenv("TORCHELASTIC_RESTART_COUNT");
  std::vector<char*> argv;
  for (const auto& a : request.worker_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  std::fprintf(stderr, "attnlab launcher: cannot exec /proc/self/exe for rank %d: %s\n", rank,
               std::strerror(errno));
  _exit(127);
}

}  // namespace

LaunchPlan plan_launch(int nproc_per_node, const std::string& devices, int per_run, int cores) {
  LaunchPlan plan;
  if (nproc_per_node < 0) {
    throw std::invalid_argument("--nproc-per-node " + std::to_string(nproc_per_node) +
                                " is not a number of processes; use 1 or more");
  }
  if (nproc_per_node > 0) {
    if (!devices.empty()) {
      throw std::invalid_argument("--nproc-per-node and --devices exclude each other; use "
                                  "--devices LIST --per-run K for several runs side by side");
    }
    std::vector<std::string> group;
    for (int d = 0; d < nproc_per_node; ++d) group.push_back(std::to_string(d));
    plan.groups.push_back(group);
  } else {
    if (devices.empty()) {
      throw std::invalid_argument("--per-run and --master-port need --nproc-per-node N or "
                                  "--devices LIST (e.g. 0-7)");
    }
    const auto list = parse_device_list(devices);
    if (per_run < 1 || list.size() % per_run != 0) {
      throw std::invalid_argument("--per-run " + std::to_string(per_run) + " does not divide the " +
                                  std::to_string(list.size()) + " devices of --devices '" +
                                  devices + "'");
    }
    for (size_t i = 0; i < list.size(); i += per_run) {
      plan.groups.emplace_back(list.begin() + i, list.begin() + i + per_run);
    }
  }
  size_t workers = 0;
  for (const auto& g : plan.groups) workers += g.size();
  plan.intra_op_threads = std::max(1, cores / static_cast<int>(workers));
  return plan;
}

int find_free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket(): ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    throw std::runtime_error("cannot find a free TCP port on 127.0.0.1: " + why +
                             "; pass --master-port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

int launch_workers(const LaunchRequest& request) {
  struct sigaction sa {};
  sa.sa_handler = remember_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_term {}, old_int {};
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);

  const pid_t launcher = getpid();
  std::vector<Worker> workers;
  for (size_t g = 0; g < request.plan.groups.size(); ++g) {
    const int port = request.master_port > 0 ? request.master_port + static_cast<int>(g)
                                             : find_free_port();
    for (size_t r = 0; r < request.plan.groups[g].size(); ++r) {
      std::fflush(nullptr);
      const pid_t pid = fork();
      if (pid < 0) throw std::runtime_error(std::string("fork(): ") + std::strerror(errno));
      if (pid == 0) exec_worker(request, launcher, static_cast<int>(g), static_cast<int>(r), port);
      workers.push_back({pid, static_cast<int>(g), static_cast<int>(r)});
    }
  }
  std::printf("attnlab launcher: %zu process group(s), %zu worker(s), %d intra-op thread(s) each\n",
              request.plan.groups.size(), workers.size(), request.plan.intra_op_threads);
  std::fflush(stdout);

  using Clock = std::chrono::steady_clock;
  std::vector<std::string> group_failure(request.plan.groups.size());
  std::vector<Clock::time_point> group_deadline(request.plan.groups.size(), Clock::time_point::max());
  size_t running = workers.size();
  while (running > 0) {
    if (const int sig = g_forward_signal.exchange(0)) {
      for (const auto& w : workers) {
        if (w.running) ::kill(w.pid, sig);
      }
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (auto& w : workers) {
        if (w.pid != pid) continue;
        w.running = false;
        --running;
        w.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        if (w.exit_code != 0 && w.exit_code != 3) {
          const auto what = describe_exit(w, status);
          std::fprintf(stderr, "attnlab launcher: group %d: %s\n", w.group, what.c_str());
          if (group_failure[w.group].empty()) {
            group_failure[w.group] = what;
            group_deadline[w.group] = Clock::now() + request.grace;
          }
        }
      }
      continue;
    }
    for (size_t g = 0; g < group_deadline.size(); ++g) {
      if (Clock::now() < group_deadline[g]) continue;
      group_deadline[g] = Clock::time_point::max();  // once; waitpid reaps them next
      for (const auto& w : workers) {
        if (!w.running || w.group != static_cast<int>(g)) continue;
        std::fprintf(stderr, "attnlab launcher: group %zu: rank %d (pid %d) did not exit within "
                             "%lld s of the failure; killing it\n",
                     g, w.rank, static_cast<int>(w.pid),
                     static_cast<long long>(request.grace.count()));
        ::kill(w.pid, SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGINT, &old_int, nullptr);

  bool failed = false, preempted = false;
  for (size_t g = 0; g < request.plan.groups.size(); ++g) {
    if (group_failure[g].empty()) continue;
    failed = true;
    std::vector<pid_t> pids;
    for (const auto& w : workers) {
      if (w.group == static_cast<int>(g)) pids.push_back(w.pid);
    }
    if (request.on_group_failed) request.on_group_failed(pids, group_failure[g]);
  }
  for (const auto& w : workers) preempted |= w.exit_code == 3;
  return failed ? 1 : preempted ? 3 : 0;
}

}  // namespace attnlab::dist
