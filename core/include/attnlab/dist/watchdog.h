// Failure handling of a data-parallel rank beyond the collective timeout: a watchdog thread
// that ends the process when no training step finishes for too long (a hang the collectives
// cannot see), and the fault injection the tests use to kill a rank mid-run.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace attnlab::dist {

class Watchdog {
 public:
  // Exits the process with code 1 and a message naming the rank and train.dist_timeout_s when
  // pet() is not called for `limit`.
  Watchdog(std::chrono::milliseconds limit, int rank);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  void pet();  // a step finished

 private:
  std::chrono::milliseconds limit_;
  int rank_;
  std::atomic<int64_t> last_pet_ns_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Testing: when ATTNLAB_DIST_KILL_AT=<rank>:<step> names this rank and step, the process kills
// itself with SIGKILL (as an OOM killer or a lost node would).
void dist_fault_point(int rank, int64_t step);

}  // namespace attnlab::dist
