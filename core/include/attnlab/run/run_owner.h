// Who trains a run, and whether that process is still there. The owner of a claimed run
// ("host:pid") refreshes the run's heartbeat in the store while it trains; a run whose owner
// is gone can be claimed again and resumes from its checkpoint. Gone means: on this host, the
// process no longer exists; on another host (where the pid cannot be checked), the heartbeat is
// older than kStaleHeartbeatS.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace attnlab::run {

// Seconds between heartbeats; ATTNLAB_HEARTBEAT_S overrides it (tests use 1).
double heartbeat_interval_s();
// A heartbeat older than this (10 intervals, at least 60 s) means the owner is gone.
double stale_heartbeat_s();

// "<hostname>:<pid>" of `pid` (default: this process) on this host.
std::string owner_id(pid_t pid);
std::string owner_id();

// True when the run owned by `owner`, last heartbeat `heartbeat_age_s` ago, may be reclaimed.
bool owner_is_gone(const std::string& owner, double heartbeat_age_s);

// Refreshes run `run_id`'s heartbeat every heartbeat_interval_s() from a thread of its own
// (with its own store connection) until destroyed. A failed refresh is reported on stderr
// once and retried; training goes on.
class Heartbeat {
 public:
  Heartbeat(std::string db_path, int64_t run_id);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  void loop();

  std::string db_path_;
  int64_t run_id_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace attnlab::run
