// Store: results of `attnlab bench` (attention ops and full training steps).
#include "attnlab/store/store.h"
#include "sqlite_connection.h"

namespace attnlab::store {

using detail::Statement;

namespace {
constexpr const char* kNow = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";
}

void Store::add_bench_attention(const BenchAttentionRecord& r) {
  Statement s(*db_, "save an attention benchmark row",
              std::string("INSERT INTO bench_attention (plugin, seq, batch, heads, head_dim, "
                          "dtype, fwd_ms, fwdbwd_ms, peak_bytes, gflops, device, extra_bytes, "
                          "created_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ") +
                  kNow + ")");
  s.bind(1, r.plugin).bind(2, r.seq).bind(3, r.batch).bind(4, r.heads).bind(5, r.head_dim);
  s.bind(6, r.dtype).bind(7, r.fwd_ms).bind(8, r.fwdbwd_ms).bind(9, r.peak_bytes);
  s.bind(10, r.gflops).bind(11, r.device);
  if (r.extra_bytes >= 0) s.bind(12, r.extra_bytes);  // unbound: NULL, not measured
  s.run();
}

void Store::add_bench_train(const BenchTrainRecord& r) {
  Statement s(*db_, "save a training benchmark row",
              std::string("INSERT INTO bench_train (preset, variant, seq, batch, "
                          "tokens_per_s, step_ms, peak_bytes, mfu, device, created_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ") +
                  kNow + ")");
  s.bind(1, r.preset).bind(2, r.variant).bind(3, r.seq).bind(4, r.batch).bind(5, r.tokens_per_s);
  s.bind(6, r.step_ms).bind(7, r.peak_bytes).bind(8, r.mfu).bind(9, r.device).run();
}

std::vector<BenchAttentionRecord> Store::bench_attention() const {
  Statement s(
      *db_, "read the attention benchmark rows",
      "SELECT plugin, seq, batch, heads, head_dim, dtype, fwd_ms, fwdbwd_ms, "
      "peak_bytes, gflops, device, created_at, COALESCE(extra_bytes, -1) FROM bench_attention "
      "ORDER BY id");
  std::vector<BenchAttentionRecord> out;
  while (s.step()) {
    out.push_back({s.column_text(0), s.column_int(1), s.column_int(2), s.column_int(3),
                   s.column_int(4), s.column_text(5), s.column_double(6), s.column_double(7),
                   s.column_int(8), s.column_double(9), s.column_text(10), s.column_text(11),
                   s.column_int(12)});
  }
  return out;
}

std::vector<BenchTrainRecord> Store::bench_train() const {
  Statement s(*db_, "read the training benchmark rows",
              "SELECT preset, variant, seq, batch, tokens_per_s, step_ms, peak_bytes, mfu, "
              "device, created_at FROM bench_train ORDER BY id");
  std::vector<BenchTrainRecord> out;
  while (s.step()) {
    out.push_back({s.column_text(0), s.column_text(1), s.column_int(2), s.column_int(3),
                   s.column_double(4), s.column_double(5), s.column_int(6), s.column_double(7),
                   s.column_text(8), s.column_text(9)});
  }
  return out;
}

}  // namespace attnlab::store
