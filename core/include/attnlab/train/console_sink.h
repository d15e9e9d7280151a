// ConsoleSink: the progress lines of a run on stdout, built from the metrics the trainer logs.
// A step logged with train/loss prints, every train.log_every steps and at the first and last:
//   [prefix]step 20/200 | loss 6.1234 | lr 3.00e-03 | grad norm 0.812 | 51234 tok/s | MFU 31.2% |
//   0.080 s/step | eta 14s
// (one line; "| MFU" only when train/mfu was logged with it); a step logged with val/loss prints
// "[prefix]step 20/200 | val loss 6.0123" first; notes print as "[prefix]<text>".
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "attnlab/train/metrics_sink.h"

namespace attnlab::train {

class ConsoleSink : public MetricsSink {
 public:
  // total_steps and log_every as in TrainConfig (steps, log_every). The ETA counts from here:
  // construct the sink just before the trainer runs.
  ConsoleSink(std::string prefix, int64_t total_steps, int64_t log_every);

  void log(int64_t step, const MetricValues& values) override;
  void eval(int64_t, const std::string&, const nlohmann::json&) override {}
  void truncate_after(int64_t) override {}
  void info(const std::string&, const nlohmann::json&) override {}
  void note(const std::string& text) override;

 private:
  bool shows_progress(int64_t step) const;
  void print_progress(int64_t step, const MetricValues& values) const;
  double eta_s(int64_t step) const;  // seconds left at this process's pace so far

  std::string prefix_;
  int64_t total_steps_, log_every_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::optional<int64_t> first_step_;  // the first step this process logged
};

}  // namespace attnlab::train
