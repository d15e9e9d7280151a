// run_in_fresh_process: fork, run the measurement in the child, read its bytes from a pipe;
// and the /proc-based RSS accounting the children use.
#include "attnlab/bench/fresh_process.h"

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iostream>

namespace attnlab::bench {

std::string run_in_fresh_process(const std::string& what,
                                 const std::function<std::string()>& body) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error(what + ": pipe() failed: " + std::strerror(errno));
  std::cout.flush();  // the child must not re-emit the parent's buffered output
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(what + ": fork() failed: " + std::strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    int rc = 0;
    try {
      const std::string bytes = body();
      rc = write(fds[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) ? 0 : 3;
    } catch (const std::exception& e) {
      std::cerr << what << ": " << e.what() << "\n";
      rc = 2;
    }
    std::cout.flush();
    std::cerr.flush();
    _exit(rc);
  }
  close(fds[1]);
  std::string bytes;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof(buffer))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    throw std::runtime_error(what + " was killed by signal " + std::to_string(WTERMSIG(status)) +
                             " (out of memory? try a smaller --batch or --seq)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(what + " failed (see the message above)");
  }
  return bytes;
}

void release_freed_memory_to_os() { mallopt(M_MMAP_THRESHOLD, 1 << 16); }

void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

namespace {
double status_mib(const std::string& field) {  // a "VmXXX:  1234 kB" line of /proc/self/status
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size())) / 1024.0;
  }
  throw std::runtime_error("/proc/self/status has no " + field + " line (not Linux?)");
}
}  // namespace

double rss_mib() { return status_mib("VmRSS:"); }
double peak_rss_mib() { return status_mib("VmHWM:"); }

}  // namespace attnlab::bench
