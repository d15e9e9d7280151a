// MetricsSink that writes into the results store for one run.
#pragma once
#include "attnlab/store/store.h"
#include "attnlab/train/metrics_sink.h"

namespace attnlab::run {

class StoreSink : public train::MetricsSink {
 public:
  StoreSink(store::Store& store, int64_t run_id) : store_(store), run_id_(run_id) {}
  void log(int64_t step, const train::MetricValues& values) override;
  void eval(int64_t step, const std::string& name, const nlohmann::json& value) override;
  void truncate_after(int64_t step) override;
  void info(const std::string& key, const nlohmann::json& value) override;

 private:
  store::Store& store_;
  int64_t run_id_;
};

}  // namespace attnlab::run
