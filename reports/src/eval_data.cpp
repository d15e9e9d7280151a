// Reads a run's eval/* rows and checks their shape (see attnlab/reports/eval_data.h).
#include "attnlab/reports/eval_data.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "attnlab/reports/experiment_data.h"

namespace attnlab::reports {

namespace {

// The value_json of one eval row, with every field access checked: a missing key, a wrong type
// or a length mismatch throws a ReportError naming the store, the run, the eval and the key.
class EvalReader {
 public:
  EvalReader(const store::Store& store, const store::RunRecord& run, const store::EvalRecord& row)
      : where_(store.path() + ": run " + std::to_string(run.id) + " (" + run.name + "): eval " +
               row.name + " at step " + std::to_string(row.step)),
        value_(nlohmann::json::parse(row.value_json, nullptr, false)) {
    if (value_.is_discarded() || !value_.is_object()) fail("is not a JSON object");
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw ReportError(where_ + " " + what +
                      "; re-run `attnlab eval RUN` on this run or delete the row "
                      "(docs/EVALUATION.md lists each eval's fields)");
  }

  double number(const char* key) const { return as_number(field(key), key); }
  int64_t integer(const char* key) const { return as_integer(field(key), key); }
  bool boolean(const char* key) const {
    const auto& v = field(key);
    if (!v.is_boolean()) fail(std::string("'") + key + "' is not true or false");
    return v.get<bool>();
  }
  std::vector<double> numbers(const char* key) const {
    return list(field(key), key, &EvalReader::as_number);
  }
  std::vector<int64_t> integers(const char* key) const {
    return list(field(key), key, &EvalReader::as_integer);
  }
  // An array of arrays of numbers.
  std::vector<std::vector<double>> matrix(const char* key) const {
    const auto& v = field(key);
    if (!v.is_array()) fail(std::string("'") + key + "' is not an array of arrays");
    std::vector<std::vector<double>> out;
    for (const auto& row : v) out.push_back(list(row, key, &EvalReader::as_number));
    return out;
  }
  // `a` and `b` (the arrays at those keys) have the same length.
  void same_length(size_t a, const std::string& a_key, size_t b, const std::string& b_key) const {
    if (a == b) return;
    fail("'" + a_key + "' has " + std::to_string(a) + " entries but '" + b_key + "' has " +
         std::to_string(b));
  }

 private:
  const nlohmann::json& field(const char* key) const {
    const auto it = value_.find(key);
    if (it == value_.end()) fail(std::string("has no '") + key + "'");
    return *it;
  }
  // A number, or null (NaN: the writer's non-finite value).
  double as_number(const nlohmann::json& v, const char* key) const {
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!v.is_number()) fail(std::string("'") + key + "' holds " + v.dump() + ", not a number");
    return v.get<double>();
  }
  int64_t as_integer(const nlohmann::json& v, const char* key) const {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number() && std::nearbyint(v.get<double>()) == v.get<double>()) {
      return static_cast<int64_t>(v.get<double>());
    }
    fail(std::string("'") + key + "' holds " + v.dump() + ", not an integer");
  }
  template <class T>
  std::vector<T> list(const nlohmann::json& v, const char* key,
                      T (EvalReader::*element)(const nlohmann::json&, const char*) const) const {
    if (!v.is_array()) fail(std::string("'") + key + "' is not an array");
    std::vector<T> out;
    for (const auto& e : v) out.push_back((this->*element)(e, key));
    return out;
  }

  std::string where_;
  nlohmann::json value_;
};

// The row of `name` with the largest step, nullopt when the run has none.
std::optional<EvalReader> last_row(const store::Store& store, const store::RunRecord& run,
                                   const char* name) {
  const auto rows = store.evals(run.id, name);
  if (rows.empty()) return std::nullopt;
  return EvalReader(store, run, rows.back());
}

ValLossEval read_val_loss(const EvalReader& r) {
  return {r.number("loss"), r.number("perplexity"), r.integer("tokens")};
}

PositionLossEval read_position_loss(const EvalReader& r) {
  PositionLossEval e{r.integers("bucket_start"), r.integers("bucket_end"), r.integers("tokens"),
                     r.numbers("loss")};
  r.same_length(e.bucket_end.size(), "bucket_end", e.bucket_start.size(), "bucket_start");
  r.same_length(e.loss.size(), "loss", e.bucket_start.size(), "bucket_start");
  r.same_length(e.tokens.size(), "tokens", e.bucket_start.size(), "bucket_start");
  for (size_t i = 0; i < e.bucket_start.size(); ++i) {
    if (e.bucket_end[i] <= e.bucket_start[i]) {
      r.fail("has an empty bucket [" + std::to_string(e.bucket_start[i]) + ", " +
             std::to_string(e.bucket_end[i]) + ")");
    }
  }
  return e;
}

MqarEval read_mqar(const EvalReader& r) {
  MqarEval e{r.integers("gaps"), r.integers("correct"), r.integers("total"), r.numbers("accuracy"),
             r.number("overall")};
  r.same_length(e.accuracy.size(), "accuracy", e.gaps.size(), "gaps");
  r.same_length(e.correct.size(), "correct", e.gaps.size(), "gaps");
  r.same_length(e.total.size(), "total", e.gaps.size(), "gaps");
  return e;
}

PasskeyEval read_passkey(const EvalReader& r) {
  PasskeyEval e{r.integers("lengths"), r.numbers("depths"), r.matrix("accuracy"),
                r.integer("trials")};
  r.same_length(e.accuracy.size(), "accuracy", e.lengths.size(), "lengths");
  for (size_t i = 0; i < e.accuracy.size(); ++i) {
    r.same_length(e.accuracy[i].size(), "accuracy[" + std::to_string(i) + "]", e.depths.size(),
                  "depths");
  }
  return e;
}

GenerationEval read_generation(const EvalReader& r) {
  return {r.number("tokens_per_s"),     r.number("cache_bytes_per_token"),
          r.number("cache_peak_bytes"), r.integer("prompt_tokens"),
          r.integer("new_tokens"),      r.boolean("rolling")};
}

template <class T>
std::optional<T> read(const store::Store& store, const store::RunRecord& run, const char* name,
                      T (*parse)(const EvalReader&)) {
  const auto row = last_row(store, run, name);
  if (!row) return std::nullopt;
  return parse(*row);
}

}  // namespace

RunEvals read_run_evals(const store::Store& store, const store::RunRecord& run) {
  RunEvals evals;
  evals.val_loss = read(store, run, kEvalValLoss, read_val_loss);
  evals.position_loss = read(store, run, kEvalPositionLoss, read_position_loss);
  evals.mqar = read(store, run, kEvalMqar, read_mqar);
  evals.passkey = read(store, run, kEvalPasskey, read_passkey);
  evals.generation = read(store, run, kEvalGeneration, read_generation);
  return evals;
}

}  // namespace attnlab::reports
