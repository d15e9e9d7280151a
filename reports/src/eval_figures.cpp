// The Evaluation section's figures (see eval_figures.h): curves through the curves template
// (x: bucket midpoint or gap; mean, min, max over seeds), heatmaps through the heatmap template.
#include "eval_figures.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "attnlab/reports/stats.h"
#include "eval_samples.h"
#include "gnuplot_templates.h"

namespace attnlab::reports {

namespace {

// One block of a curves .dat: "x mean min max n" per key, for one arm.
template <class Key, class X>
std::string curve_block(const std::string& arm, const std::map<Key, Samples>& samples, X x_of,
                        const std::string& x_name) {
  std::ostringstream block;
  block << "# " << arm << ": " << x_name << " mean min max n_seeds\n";
  for (const auto& [key, xs] : samples) {
    const auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
    block << num(x_of(key)) << " " << num(mean(xs)) << " " << num(*lo) << " " << num(*hi) << " "
          << xs.size() << "\n";
  }
  return block.str() + "\n\n";
}

template <class Key>
size_t most_seeds(const std::map<Key, Samples>& samples) {
  size_t n = 0;
  for (const auto& entry : samples) n = std::max(n, entry.second.size());
  return n;
}

// One line per arm with the eval; `samples_of(arm)` gives its map, `x_of(key)` the x value.
template <class SamplesOf, class X>
void eval_curves(const ExperimentData& data, FigureWriter& writer, const std::string& id,
                 const std::string& what, const std::string& xlabel, const std::string& ylabel,
                 SamplesOf samples_of, X x_of, bool log_x) {
  std::string dat;
  std::vector<std::string> names;
  for (const auto& arm : data.arm_names()) {
    const auto samples = samples_of(data, arm);
    if (samples.empty()) continue;
    names.push_back(arm + " (n=" + std::to_string(most_seeds(samples)) + ")");
    dat += curve_block(arm, samples, x_of, xlabel);
  }
  if (names.empty()) return;
  const std::string title = data.name + ": " + what;
  writer.add(id, title + " (mean over seeds, min–max band; finished runs)", dat,
             fill_template("curves", {{"NAME", id},
                                      {"TITLE", title},
                                      {"N", std::to_string(names.size())},
                                      {"NAMES", gnuplot_array(names)},
                                      {"XLABEL", xlabel},
                                      {"YLABEL", ylabel},
                                      {"LOGX", log_x ? "set logscale x 2" : ""}}),
             "evaluation");
}

// Gaps spanning a factor of 16 or more are drawn on a log axis.
bool wide_gaps(const ExperimentData& data) {
  int64_t lo = 0, hi = 0;
  for (const auto& arm : data.arm_names()) {
    for (const auto& entry : mqar_samples(data, arm)) {
      lo = lo == 0 ? entry.first : std::min(lo, entry.first);
      hi = std::max(hi, entry.first);
    }
  }
  return lo > 0 && hi >= 16 * lo;
}

// gnuplot tic labels ("a" 0, "b" 1, ...) for the values in order.
template <class T>
std::string tic_labels(const std::vector<T>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    out += (i ? ", " : "(") + quoted(num(static_cast<double>(values[i]))) + " " + std::to_string(i);
  }
  return out + ")";
}

// One heatmap per arm: rows are lengths (shortest at the bottom), columns depths.
void passkey_heatmaps(const ExperimentData& data, FigureWriter& writer) {
  for (const auto& arm : data.arm_names()) {
    const auto samples = passkey_samples(data, arm);
    if (samples.empty()) continue;
    std::vector<int64_t> lengths;
    std::vector<double> depths;
    for (const auto& entry : samples) {
      lengths.push_back(entry.first.first);
      depths.push_back(entry.first.second);
    }
    std::sort(depths.begin(), depths.end());  // lengths come sorted: the map's first key
    lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
    depths.erase(std::unique(depths.begin(), depths.end()), depths.end());
    std::ostringstream dat;
    for (const int64_t length : lengths) {
      for (size_t d = 0; d < depths.size(); ++d) {
        const auto it = samples.find({length, depths[d]});
        dat << (d ? " " : "") << (it == samples.end() ? "NaN" : num(mean(it->second)));
      }
      dat << "\n";
    }
    const std::string id = "passkey_" + file_stem(arm);
    const std::string title = data.name + ": passkey accuracy, " + arm +
                              " (n=" + std::to_string(most_seeds(samples)) + ")";
    const int height = static_cast<int>(std::clamp<size_t>(120 + 60 * lengths.size(), 400, 1400));
    const bool labels = lengths.size() * depths.size() <= 128;
    writer.add(
        id, title + ": context length × passkey depth, mean over seeds", dat.str(),
        fill_template("heatmap",
                      {{"NAME", id},
                       {"TITLE", escaped(title)},
                       {"WHAT",
                        "passkey retrieval accuracy per context length (rows) and depth "
                        "of the passkey in it (columns, 0 = start), mean over seeds"},
                       {"DATA",
                        "a matrix with one line per length and one column per depth "
                        "(NaN: not measured)"},
                       {"XLABEL", "depth"},
                       {"YLABEL", "context length (tokens)"},
                       {"CBLABEL", "accuracy"},
                       {"XTICS", tic_labels(depths)},
                       {"YTICS", tic_labels(lengths)},
                       {"ROWS", std::to_string(lengths.size())},
                       {"COLS", std::to_string(depths.size())},
                       {"HEIGHT", std::to_string(height)},
                       {"HEIGHT_IN", num(height / 1000.0 * 6.0)},
                       {"LABELS", labels ? ", \"" + id +
                                               ".dat\" matrix using 1:2:(sprintf(\"%.2f\", $3)) "
                                               "with labels textcolor rgb \"white\" notitle"
                                         : ""}}),
        "evaluation");
  }
}

}  // namespace

void eval_figures(const ExperimentData& data, FigureWriter& writer) {
  eval_curves(
      data, writer, "position_loss", "loss against input position (eval/position_loss)",
      "input position (bucket midpoint)", "loss", position_loss_samples,
      [](const Bucket& b) { return 0.5 * static_cast<double>(b.first + b.second); }, false);
  eval_curves(
      data, writer, "mqar_accuracy", "MQAR accuracy against gap (eval/mqar)",
      "gap (tokens between a key and its query)", "accuracy", mqar_samples,
      [](int64_t gap) { return static_cast<double>(gap); }, wide_gaps(data));
  passkey_heatmaps(data, writer);
}

}  // namespace attnlab::reports
