// Conformance reference of plugin `sink_window` (StreamingLLM): query i sees key j iff j <= i
// and (i - j <= window or j < sinks), causal softmax attention with GQA; FLOPs over those pairs.
#include <cmath>

#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

ReferenceOutput sink_window(const ReferenceInput& in) {
  const int64_t T = in.q_BHTD.size(2), H = in.q_BHTD.size(1), G = H / in.k_BKTD.size(1);
  const int64_t w = in.options.at("window").get<int64_t>();
  const int64_t sinks = in.options.at("sinks").get<int64_t>();
  auto mask_TT = torch::zeros({T, T}, torch::kBool);
  auto m = mask_TT.accessor<bool, 2>();
  for (int64_t i = 0; i < T; ++i) {
    for (int64_t j = 0; j <= i; ++j) m[i][j] = i - j <= w || j < sinks;
  }
  auto s_BHTT = torch::matmul(in.q_BHTD, in.k_BKTD.repeat_interleave(G, 1).transpose(-2, -1)) /
                std::sqrt(static_cast<double>(in.q_BHTD.size(3)));
  s_BHTT = s_BHTT.masked_fill(mask_TT.logical_not(), -INFINITY);
  const auto y_BHTD = torch::matmul(torch::softmax(s_BHTT, -1), in.v_BKTD.repeat_interleave(G, 1));
  return {y_BHTD, attention_flops(H, T, in.q_BHTD.size(3),
                                  [&](int64_t, int64_t i, int64_t j) { return m[i][j]; })};
}

}  // namespace

ATTNLAB_PLUGIN_REFERENCE("sink_window",
                         PluginReference{
                             sink_window, nlohmann::json::object(), {{"window", 5}, {"sinks", 2}}});

}  // namespace attnlab::test
