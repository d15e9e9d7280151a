// TeeSink: one MetricsSink that hands everything to several, in the order given (e.g. the
// results store, then the console).
#pragma once
#include <utility>
#include <vector>

#include "attnlab/train/metrics_sink.h"

namespace attnlab::train {

class TeeSink : public MetricsSink {
 public:
  // The sinks must outlive the tee.
  explicit TeeSink(std::vector<MetricsSink*> sinks) : sinks_(std::move(sinks)) {}

  void log(int64_t step, const MetricValues& values) override;
  void eval(int64_t step, const std::string& name, const nlohmann::json& value) override;
  void truncate_after(int64_t step) override;
  void info(const std::string& key, const nlohmann::json& value) override;
  void note(const std::string& text) override;

 private:
  std::vector<MetricsSink*> sinks_;
};

}  // namespace attnlab::train
