// Where the trainer sends what it measures and says. The trainer does not know about SQLite or
// stdout: the run driver adapts this interface to the results store and the console
// (console_sink.h, tee_sink.h), and tests collect into memory.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attnlab::train {

using MetricValues = std::vector<std::pair<std::string, double>>;

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // Scalars of one step, e.g. {"train/loss", 3.2}; re-logging a step replaces its values.
  virtual void log(int64_t step, const MetricValues& values) = 0;
  // A structured evaluation result, e.g. "gate_mean" -> [[per head] per layer].
  virtual void eval(int64_t step, const std::string& name, const nlohmann::json& value) = 0;
  // Drops every metric and evaluation logged after `step` (a resumed run replaces them).
  virtual void truncate_after(int64_t step) = 0;
  // A fact about the whole run, e.g. "n_params".
  virtual void info(const std::string& key, const nlohmann::json& value) = 0;
  // (optional) A line for whoever watches the run, e.g. "checkpoint step_0000000010.ckpt" or
  // "step 6 skipped: loss is nan at step 5". Default: ignored.
  virtual void note(const std::string& text) {}
};

// The sink of ranks other than 0: they compute the same averaged metrics, rank 0 records them.
class NullSink : public MetricsSink {
 public:
  void log(int64_t, const MetricValues&) override {}
  void eval(int64_t, const std::string&, const nlohmann::json&) override {}
  void truncate_after(int64_t) override {}
  void info(const std::string&, const nlohmann::json&) override {}
};

}  // namespace attnlab::train
