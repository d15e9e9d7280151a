// Number formatting and the shared comparison cells of the report tables (internal).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "attnlab/reports/experiment_data.h"
#include "attnlab/reports/stats.h"
#include "attnlab/reports/table.h"

namespace attnlab::reports::cells {

inline constexpr const char* kNone = "—";

std::string fixed(double value, int decimals);         // "3.2145"
std::string signed_fixed(double value, int decimals);  // "+0.0123", "-0.0100"
std::string p_value(double p);                         // "0.012", "<0.001"
std::string count(double value);                       // "12.3M", "1.2B", "950"
std::string bytes(double value);                       // "1.23 GiB", "512.0 MiB", "2.0 KiB", "96 B"
std::string percent(double fraction);                  // 0.1234 -> "12.3%"
std::string raw(std::optional<double> value);          // CSV: "%.10g" or ""
std::string general(double value);                     // "%g": 0.25, 1024, 1e+06
// CSV mean and sample std of a sample ("" where undefined).
std::vector<std::string> raw_mean_std(const std::vector<double>& xs);

// "2 finished, 1 running": the runs of a variant by status, in lifecycle order.
std::string status_summary(const std::vector<const RunData*>& runs);

// "3.2145 ± 0.0123" (n ≥ 2), "3.2145 (n = 1, no error bars)", or "—".
std::string mean_std(const std::vector<double>& xs, int decimals);

// Δ of `sample` against `reference` with its Welch CI and p-value, as display cells and CSV
// fields (delta, ci_low, ci_high, t, df, p_value, significant).
struct Comparison {
  Cell delta, p;
  std::vector<std::string> data;
};
inline const std::vector<std::string> kComparisonHeader = {"delta", "ci_low",  "ci_high",    "t",
                                                           "df",    "p_value", "significant"};
Comparison compare(const std::vector<double>& sample, const std::vector<double>& reference);
// compare(), or "baseline" (and empty CSV fields) in the baseline's own row.
Comparison compare_with(const std::string& arm, const std::string& baseline,
                        const std::vector<double>& sample, const std::vector<double>& reference);
// kComparisonHeader with `prefix` before each name.
std::vector<std::string> comparison_header(const std::string& prefix);

// Marks the best cell of column `column` bold: the lowest (or highest) of `values` (one per
// row, nullopt where the row has none). Ties are all bold.
void bold_best(Table& table, size_t column, const std::vector<std::optional<double>>& values,
               bool lower_is_better);

}  // namespace attnlab::reports::cells
