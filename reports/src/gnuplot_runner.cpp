// Finds gnuplot on PATH and runs a script in its own folder (see gnuplot_runner.h).
#include "gnuplot_runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace attnlab::reports {

namespace fs = std::filesystem;

std::optional<fs::path> find_program(const std::string& program) {
  if (program.empty()) return std::nullopt;
  // error_code overloads: a PATH entry that is missing, a file, unreadable (mode 000) or a
  // symlink loop is skipped, never a reason to fail the report.
  auto executable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    return executable(program) ? std::optional<fs::path>(program) : std::nullopt;
  }
  const char* path_env = std::getenv("PATH");
  std::stringstream dirs(path_env ? path_env : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path candidate = fs::path(dir.empty() ? "." : dir) / program;
    if (executable(candidate)) return candidate;
  }
  return std::nullopt;
}

std::string run_gnuplot(const fs::path& gnuplot, const fs::path& dir, const std::string& script) {
  const fs::path log = dir / (script + ".log");
  pid_t pid = ::fork();
  if (pid < 0) return "cannot start gnuplot (fork failed)";
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execl(gnuplot.c_str(), gnuplot.c_str(), script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "lost track of gnuplot (waitpid failed)";
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    std::error_code ec;
    if (fs::file_size(log, ec) == 0) fs::remove(log, ec);
    return "";
  }
  std::ifstream in(log);
  std::string first_line;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.find_first_not_of(" ^") != std::string::npos) {
      first_line = line;
      if (line.find("line") != std::string::npos || line.find("rror") != std::string::npos) break;
    }
  }
  return "gnuplot failed on " + (dir / script).string() + " (exit " +
         std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "): " + first_line +
         " (full log: " + log.string() + ")";
}

}  // namespace attnlab::reports
