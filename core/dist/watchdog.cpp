// The rank watchdog and the rank-kill fault injection (see distributed_watchdog.h).
#include "attnlab/dist/watchdog.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace attnlab::dist {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Watchdog::Watchdog(std::chrono::milliseconds limit, int rank)
    : limit_(limit), rank_(rank), last_pet_ns_(now_ns()) {
  thread_ = std::thread([this] {
    while (!done_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const auto idle = std::chrono::nanoseconds(now_ns() - last_pet_ns_.load());
      if (idle > limit_) {
        std::fprintf(stderr,
                     "rank %d: watchdog: no training step finished for %lld s; exiting (a rank is "
                     "hung; raise train.dist_timeout_s if steps are really this slow)\n",
                     rank_,
                     static_cast<long long>(
                         std::chrono::duration_cast<std::chrono::seconds>(idle).count()));
        std::fflush(stderr);
        _exit(1);
      }
    }
  });
}

Watchdog::~Watchdog() {
  done_.store(true);
  thread_.join();
}

void Watchdog::pet() { last_pet_ns_.store(now_ns()); }

void dist_fault_point(int rank, int64_t step) {
  const char* spec = std::getenv("ATTNLAB_DIST_KILL_AT");
  if (!spec) return;
  int kill_rank = -1;
  long long kill_step = -1;
  if (std::sscanf(spec, "%d:%lld", &kill_rank, &kill_step) != 2) {
    std::fprintf(stderr, "ATTNLAB_DIST_KILL_AT='%s' is not <rank>:<step>; fix or unset it\n", spec);
    _exit(2);
  }
  if (kill_rank == rank && kill_step == step) {
    std::fprintf(stderr, "rank %d: ATTNLAB_DIST_KILL_AT: killing myself at step %lld\n", rank,
                 kill_step);
    std::fflush(stderr);
    ::kill(getpid(), SIGKILL);
  }
}

}  // namespace attnlab::dist
