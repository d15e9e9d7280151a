// Progress of long data work on stderr: documents, tokens, MB/s and ETA, rewritten in place
// on a terminal (every 0.5 s) and printed as plain lines otherwise (every 10 s).
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace attnlab::data {

class ProgressMeter {
 public:
  ProgressMeter(const char* label, bool enabled) : label_(label), enabled_(enabled) {}

  // done_bytes / total_bytes drive the ETA; text_bytes the MB/s.
  void update(uint64_t docs, uint64_t tokens, uint64_t text_bytes, uint64_t done_bytes,
              uint64_t total_bytes, bool final = false) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const double since_print = std::chrono::duration<double>(now - last_).count();
    if (!final && since_print < (tty_ ? 0.5 : 10.0)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double mbps = elapsed > 0 ? text_bytes / elapsed / 1e6 : 0;
    const double frac = total_bytes ? double(done_bytes) / total_bytes : 0;
    const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    std::fprintf(stderr, "%s%s: %llu docs, %.2fM tokens, %.1f MB/s, %3.0f%%, %s %02d:%02d%s",
                 tty_ ? "\r" : "", label_, (unsigned long long)docs, tokens / 1e6, mbps, 100 * frac,
                 final ? "took" : "ETA", int(final ? elapsed : eta) / 60,
                 int(final ? elapsed : eta) % 60, tty_ && !final ? "" : "\n");
  }

 private:
  using Clock = std::chrono::steady_clock;
  const char* label_;
  bool enabled_;
  bool tty_ = ::isatty(2);
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
};

}  // namespace attnlab::data
