// Measuring in a fresh process: a benchmark forks, measures in the child and gets a plain
// result struct back through a pipe, so each measurement's peak memory (the RSS high-water
// mark, VmHWM) is its own and nothing the parent allocated earlier counts. Used by
// `attnlab bench attention`, `attnlab bench train` and the peak FLOP/s probe.
// Keep LibTorch work out of the parent before forking: only the child runs big ops.
#pragma once
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace attnlab::bench {

// Runs `body` in a fork()ed child and returns the bytes it wrote. A child that throws, exits
// or is killed makes this throw std::runtime_error naming `what` (and the signal, if any);
// the child's own message goes to stderr.
std::string run_in_fresh_process(const std::string& what, const std::function<std::string()>& body);

// The typed form: `body` returns a trivially copyable struct (a measurement).
template <class Result>
Result run_in_fresh_process(const std::string& what, const std::function<Result()>& body) {
  static_assert(std::is_trivially_copyable_v<Result>, "results cross a pipe as raw bytes");
  const std::string bytes = run_in_fresh_process(what, std::function<std::string()>([&] {
    const Result r = body();
    return std::string(reinterpret_cast<const char*>(&r), sizeof(r));
  }));
  if (bytes.size() != sizeof(Result)) {
    throw std::runtime_error(what + ": the measuring process returned " +
                             std::to_string(bytes.size()) + " bytes instead of " +
                             std::to_string(sizeof(Result)));
  }
  Result r;
  std::memcpy(&r, bytes.data(), sizeof(r));
  return r;
}

// Child-side memory accounting (Linux /proc): make freed large blocks return to the OS
// (malloc's mmap threshold at 64 KiB), reset VmHWM to the current RSS, read VmRSS / VmHWM.
void release_freed_memory_to_os();
void reset_peak_rss();
double rss_mib();
double peak_rss_mib();

}  // namespace attnlab::bench
