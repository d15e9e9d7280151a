// Number formatting and comparison cells shared by the report tables (see cells.h).
#include "cells.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace attnlab::reports::cells {

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string signed_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.*f", decimals, value);
  return buf;
}

std::string p_value(double p) { return p < 0.001 ? "<0.001" : fixed(p, 3); }

std::string count(double value) {
  const double a = std::fabs(value);
  if (a >= 1e12) return fixed(value / 1e12, 2) + "T";
  if (a >= 1e9) return fixed(value / 1e9, 2) + "B";
  if (a >= 1e6) return fixed(value / 1e6, 2) + "M";
  if (a >= 1e4) return fixed(value / 1e3, 1) + "K";
  return fixed(value, 0);
}

std::string bytes(double value) {
  if (value >= 1024.0 * 1024 * 1024) return fixed(value / (1024.0 * 1024 * 1024), 2) + " GiB";
  if (value >= 1024.0 * 1024) return fixed(value / (1024.0 * 1024), 1) + " MiB";
  if (value >= 1024.0) return fixed(value / 1024.0, 1) + " KiB";
  return fixed(value, 0) + " B";
}

std::string percent(double fraction) { return fixed(100.0 * fraction, 1) + "%"; }

std::string raw(std::optional<double> value) {
  if (!value || std::isnan(*value)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", *value);
  return buf;
}

std::string general(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

std::vector<std::string> raw_mean_std(const std::vector<double>& xs) {
  return {raw(xs.empty() ? std::nullopt : std::optional(mean(xs))), raw(sample_std(xs))};
}

std::string status_summary(const std::vector<const RunData*>& runs) {
  std::map<std::string, int> by_status;
  for (const auto* run : runs) ++by_status[run->record.status];
  std::string out;
  for (const char* status : {"finished", "running", "pending", "preempted", "failed"}) {
    if (!by_status.count(status)) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(by_status[status]) + " " + status;
  }
  return out.empty() ? "no runs" : out;
}

std::string mean_std(const std::vector<double>& xs, int decimals) {
  if (xs.empty()) return kNone;
  if (xs.size() == 1) return fixed(xs[0], decimals) + " (n = 1, no error bars)";
  return fixed(mean(xs), decimals) + " ± " + fixed(sample_std(xs), decimals);
}

Comparison compare(const std::vector<double>& sample, const std::vector<double>& reference) {
  Comparison c;
  if (sample.empty() || reference.empty()) {
    c.delta.text = c.p.text = kNone;
    c.data.assign(kComparisonHeader.size(), "");
    return c;
  }
  const WelchResult w = welch_t_test(sample, reference);
  if (!w.valid) {
    c.delta.text = signed_fixed(w.diff, 4) + " (" + w.why_not + ")";
    c.p.text = kNone;
    c.data = {raw(w.diff), "", "", "", "", "", ""};
    return c;
  }
  c.delta.text = signed_fixed(w.diff, 4) + " [" + signed_fixed(w.ci_low, 4) + ", " +
                 signed_fixed(w.ci_high, 4) + "]";
  const bool significant = w.p < 0.05;
  c.p.text = p_value(w.p) + (significant ? "" : " (not significant)");
  c.data = {raw(w.diff),
            raw(w.ci_low),
            raw(w.ci_high),
            raw(w.t),
            raw(w.df),
            raw(w.p),
            significant ? "yes" : "no"};
  return c;
}

Comparison compare_with(const std::string& arm, const std::string& baseline,
                        const std::vector<double>& sample, const std::vector<double>& reference) {
  if (arm != baseline) return compare(sample, reference);
  Comparison c;
  c.delta.text = "baseline";
  c.p.text = kNone;
  c.data.assign(kComparisonHeader.size(), "");
  return c;
}

std::vector<std::string> comparison_header(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& name : kComparisonHeader) out.push_back(prefix + name);
  return out;
}

void bold_best(Table& table, size_t column, const std::vector<std::optional<double>>& values,
               bool lower_is_better) {
  std::optional<double> best;
  for (const auto& v : values) {
    if (!v || std::isnan(*v)) continue;
    if (!best || (lower_is_better ? *v < *best : *v > *best)) best = v;
  }
  if (!best) return;
  for (size_t row = 0; row < values.size() && row < table.rows.size(); ++row) {
    if (values[row] && *values[row] == *best) table.rows[row][column].bold = true;
  }
}

}  // namespace attnlab::reports::cells
