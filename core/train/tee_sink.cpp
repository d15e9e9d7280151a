// TeeSink: every call forwarded to each sink in turn (see tee_sink.h).
#include "attnlab/train/tee_sink.h"

namespace attnlab::train {

void TeeSink::log(int64_t step, const MetricValues& values) {
  for (auto* sink : sinks_) sink->log(step, values);
}

void TeeSink::eval(int64_t step, const std::string& name, const nlohmann::json& value) {
  for (auto* sink : sinks_) sink->eval(step, name, value);
}

void TeeSink::truncate_after(int64_t step) {
  for (auto* sink : sinks_) sink->truncate_after(step);
}

void TeeSink::info(const std::string& key, const nlohmann::json& value) {
  for (auto* sink : sinks_) sink->info(key, value);
}

void TeeSink::note(const std::string& text) {
  for (auto* sink : sinks_) sink->note(text);
}

}  // namespace attnlab::train
