// run_cli: fork/exec of the attnlab executable with stdout/stderr captured through pipes.
#include "cli_process.h"

#include <algorithm>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <stdexcept>

namespace attnlab::test {

namespace {

// The key an override sets: "++a.b=1" -> "a.b"; "" for what is not an override (a flag).
std::string override_key(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || arg.rfind("--", 0) == 0) return "";
  const auto begin = arg.find_first_not_of("+~");
  return arg.substr(begin, eq - begin);
}

}  // namespace

std::vector<std::string> with_overrides(std::vector<std::string> base,
                                        const std::vector<std::string>& more) {
  for (const auto& arg : more) {
    const auto key = override_key(arg);
    if (key.empty()) continue;
    base.erase(std::remove_if(base.begin(), base.end(),
                              [&](const std::string& b) { return override_key(b) == key; }),
               base.end());
  }
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

int progress_step(const std::string& line) {
  static const std::regex re(R"(\] step (\d+)/\d+ \| loss )");
  std::smatch m;
  return std::regex_search(line, m, re) ? std::stoi(m[1]) : -1;
}

CliOutcome run_cli(const CliRun& run) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) throw std::runtime_error("pipe() failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork() failed");
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    if (chdir(ATTNLAB_SOURCE_DIR) != 0) _exit(127);
    setenv("ATTNLAB_SHARED", ATTNLAB_SHARED_DIR, 1);
    setenv("ATTNLAB_PLUGIN_DIR", ATTNLAB_BINARY_DIR "/plugins", 1);
    unsetenv("ATTNLAB_CHECKPOINT_CRASH_AT");
    for (const auto& [k, v] : run.env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    std::string exe = ATTNLAB_BINARY_DIR "/attnlab";
    argv.push_back(exe.data());
    std::vector<std::string> args = run.args;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);

  CliOutcome outcome;
  std::string partial;  // the stdout line being received
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(run.timeout_s);
  bool timed_out = false;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (std::chrono::steady_clock::now() > deadline && !timed_out) {
      kill(pid, SIGKILL);
      timed_out = true;
    }
    if (poll(fds, 2, 500) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      if (i == 1) {
        outcome.err.append(buf, n);
        continue;
      }
      outcome.out.append(buf, n);
      partial.append(buf, n);
      for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
        const std::string line = partial.substr(0, nl);
        partial.erase(0, nl + 1);
        if (!outcome.signal_sent && run.when && run.when(line)) {
          kill(pid, run.signal);
          outcome.signal_sent = true;
        }
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out) {
    throw std::runtime_error("attnlab did not finish within " + std::to_string(run.timeout_s) +
                             " s; its output:\n" + outcome.out + outcome.err);
  }
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.term_signal = WTERMSIG(status);
  return outcome;
}

}  // namespace attnlab::test
