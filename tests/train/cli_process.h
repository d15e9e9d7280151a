// Runs the attnlab CLI as a child process (fork/exec), the way a user or a scheduler does,
// and can send it a signal when a line of its stdout matches: SIGKILL for a crash at a random
// moment, SIGTERM for a preemption. Used by the checkpoint, resume and preemption tests.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace attnlab::test {

struct CliOutcome {
  int exit_code = -1;    // the exit status, or -1 when a signal ended the process
  int term_signal = 0;   // the signal that ended it, 0 when it exited
  bool signal_sent = false;
  std::string out, err;  // everything it wrote to stdout and stderr
};

struct CliRun {
  std::vector<std::string> args;                 // after the executable name
  std::map<std::string, std::string> env;        // added to the environment
  std::function<bool(const std::string&)> when;  // on each stdout line; true sends `signal`
  int signal = 0;
  int timeout_s = 120;                           // SIGKILL and a test failure after this
};

// The attnlab executable of this build, run with the repository root as working directory,
// ATTNLAB_SHARED pointing at the shared data and ATTNLAB_PLUGIN_DIR at this build's plugins.
CliOutcome run_cli(const CliRun& run);

// `base` with `more` appended, where an override in `more` replaces every override of `base`
// that sets the same key ("train.steps=4" replaces "train.steps=8"): the CLI refuses a key
// given twice, and a test's overrides refine the fixture's.
std::vector<std::string> with_overrides(std::vector<std::string> base,
                                        const std::vector<std::string>& more);

// "[attention=dense] step 7/12 | loss ..." -> 7; -1 for any other line.
int progress_step(const std::string& line);

}  // namespace attnlab::test
