// StoreSink: forwards metrics, evaluations and run facts to the SQLite store.
#include "attnlab/run/store_sink.h"

namespace attnlab::run {

void StoreSink::log(int64_t step, const train::MetricValues& values) {
  store_.log_metrics(run_id_, step, values);
}

void StoreSink::eval(int64_t step, const std::string& name, const nlohmann::json& value) {
  store_.log_eval(run_id_, step, name, value.dump());
}

void StoreSink::truncate_after(int64_t step) { store_.delete_metrics_after(run_id_, step); }

void StoreSink::info(const std::string& key, const nlohmann::json& value) {
  store_.set_run_info(run_id_, key, value.dump());
}

}  // namespace attnlab::run
