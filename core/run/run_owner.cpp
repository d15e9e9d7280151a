// Run owners, their liveness and the heartbeat thread (see attnlab/run/run_owner.h).
#include "attnlab/run/run_owner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "attnlab/store/store.h"

namespace attnlab::run {

namespace {

std::string host_name() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return host;
}

}  // namespace

double heartbeat_interval_s() {
  const char* value = std::getenv("ATTNLAB_HEARTBEAT_S");
  const double s = value ? std::atof(value) : 0.0;
  return s > 0 ? s : 30.0;
}

double stale_heartbeat_s() { return std::max(60.0, 10.0 * heartbeat_interval_s()); }

std::string owner_id(pid_t pid) { return host_name() + ":" + std::to_string(pid); }
std::string owner_id() { return owner_id(getpid()); }

bool owner_is_gone(const std::string& owner, double heartbeat_age_s) {
  const auto colon = owner.rfind(':');
  if (colon == std::string::npos || owner.substr(0, colon) != host_name()) {
    return heartbeat_age_s > stale_heartbeat_s();  // another machine: trust its heartbeat
  }
  const pid_t pid = static_cast<pid_t>(std::atol(owner.c_str() + colon + 1));
  return pid != getpid() && ::kill(pid, 0) != 0 && errno == ESRCH;
}

Heartbeat::Heartbeat(std::string db_path, int64_t run_id)
    : db_path_(std::move(db_path)), run_id_(run_id), thread_([this] { loop(); }) {}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Heartbeat::loop() {
  const auto interval = std::chrono::duration<double>(heartbeat_interval_s());
  std::optional<store::Store> db;  // this thread's own connection, reopened after a failure
  bool reported = false;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
    try {
      if (!db) db.emplace(db_path_);
      db->heartbeat(run_id_);
    } catch (const std::exception& e) {
      db.reset();
      if (!reported) std::fprintf(stderr, "heartbeat of run %lld: %s (retrying)\n",
                                  static_cast<long long>(run_id_), e.what());
      reported = true;
    }
  }
}

}  // namespace attnlab::run
