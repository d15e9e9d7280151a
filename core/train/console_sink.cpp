// ConsoleSink: progress, validation and note lines on stdout (see console_sink.h).
#include "attnlab/train/console_sink.h"

#include <cstdio>
#include <stdexcept>

#include "attnlab/train/metric_names.h"

namespace attnlab::train {

namespace {

std::optional<double> find(const MetricValues& values, const std::string& name) {
  for (const auto& [key, value] : values) {
    if (key == name) return value;
  }
  return std::nullopt;
}

// A metric a progress line needs: the trainer logs it with train/loss.
double require(const MetricValues& values, const char* name) {
  if (const auto value = find(values, name)) return *value;
  throw std::logic_error(std::string("ConsoleSink: ") + name +
                         " must be logged together with train/loss (see trainer.cpp)");
}

}  // namespace

ConsoleSink::ConsoleSink(std::string prefix, int64_t total_steps, int64_t log_every)
    : prefix_(std::move(prefix)), total_steps_(total_steps), log_every_(log_every) {}

void ConsoleSink::log(int64_t step, const MetricValues& values) {
  if (!first_step_) first_step_ = step;
  if (const auto val = find(values, metric::kValLoss)) {
    const int64_t done = total_steps_ == 0 ? 0 : step + 1;  // train.steps=0: the loaded weights
    std::printf("%sstep %lld/%lld | val loss %.4f\n", prefix_.c_str(), static_cast<long long>(done),
                static_cast<long long>(total_steps_), *val);
  }
  if (find(values, metric::kTrainLoss) && shows_progress(step)) print_progress(step, values);
  std::fflush(stdout);
}

void ConsoleSink::note(const std::string& text) {
  std::printf("%s%s\n", prefix_.c_str(), text.c_str());
  std::fflush(stdout);
}

bool ConsoleSink::shows_progress(int64_t step) const {
  return step == 0 || step + 1 == total_steps_ || (step + 1) % log_every_ == 0;
}

void ConsoleSink::print_progress(int64_t step, const MetricValues& values) const {
  char mfu_text[32] = "";
  if (const auto mfu = find(values, metric::kTrainMfu)) {
    std::snprintf(mfu_text, sizeof mfu_text, " | MFU %.1f%%", 100.0 * *mfu);
  }
  std::printf("%sstep %lld/%lld | loss %.4f | lr %.2e | grad norm %.3f | %.0f tok/s%s | "
              "%.3f s/step | eta %.0fs\n",
              prefix_.c_str(), static_cast<long long>(step + 1),
              static_cast<long long>(total_steps_), require(values, metric::kTrainLoss),
              require(values, metric::kTrainLr), require(values, metric::kTrainGradNorm),
              require(values, metric::kTrainTokensPerS), mfu_text,
              require(values, metric::kTrainStepTimeS), eta_s(step));
}

double ConsoleSink::eta_s(int64_t step) const {
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return elapsed_s / (step + 1 - *first_step_) * (total_steps_ - step - 1);
}

}  // namespace attnlab::train
