// print_plan: one line per cell with its size, cost and status, and the eval tasks run after
// training (see attnlab/run/plan.h).
#include "attnlab/run/plan.h"

#include <algorithm>
#include <cstdio>

#include "attnlab/run/eval_runs.h"

namespace attnlab::run {

namespace {

// 1234567 -> "1.23M", 4.5e18 -> "4.50E"
std::string si(double value) {
  const char* units[] = {"", "k", "M", "G", "T", "P", "E", "Z"};
  int u = 0;
  while (value >= 1000.0 && u < 7) {
    value /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g%s", value, units[u]);
  return buf;
}

// isoFLOP cells: how each one's steps round the budget.
void print_budget_rounding(std::ostream& out, const std::vector<spec::RunSpec>& specs,
                           int world_size) {
  char line[512];
  for (const auto& s : specs) {
    if (s.budget_steps_exact <= 0) continue;
    const double off = s.total_flops(world_size) / s.train.flop_budget - 1;
    std::snprintf(line, sizeof(line), "  %-44s budget %s: %lld steps (%.2f exact), %+.2f%% of it\n",
                  s.run_name.c_str(), si(s.train.flop_budget).c_str(),
                  static_cast<long long>(s.train.steps), s.budget_steps_exact, 100 * off);
    out << line;
  }
}

// The tasks each run is evaluated on after training (eval.tasks): one line when every run
// has the same, else one per run.
void print_eval_tasks(std::ostream& out, const std::vector<spec::RunSpec>& specs) {
  std::vector<std::string> tasks;
  for (const auto& s : specs) tasks.push_back(describe_tasks(eval_settings_of(s.cell).tasks));
  if (std::all_of(tasks.begin(), tasks.end(), [&](const auto& t) { return t == tasks.front(); })) {
    out << "  eval after training (eval.tasks, every run): " << tasks.front() << "\n";
    return;
  }
  out << "  eval after training (eval.tasks):\n";
  char line[512];
  for (size_t i = 0; i < specs.size(); ++i) {
    std::snprintf(line, sizeof(line), "  %-44s %s\n", specs[i].run_name.c_str(), tasks[i].c_str());
    out << line;
  }
}

}  // namespace

void print_plan(std::ostream& out, const std::vector<spec::RunSpec>& specs, int world_size,
                const std::map<std::string, std::string>& status) {
  if (specs.empty()) return;
  out << "experiment " << specs.front().experiment << ": " << specs.size() << " cells, "
      << world_size << (world_size == 1 ? " rank" : " ranks") << "\n";
  char line[512];
  std::snprintf(line, sizeof(line), "  %-44s %9s %11s %12s %11s  %s\n", "run", "params",
                "FLOPs/token", "tokens/step", "total FLOPs", "status");
  out << line;
  double total = 0;
  for (const auto& s : specs) {
    const auto it = status.find(s.run_name);
    std::snprintf(line, sizeof(line), "  %-44s %9s %11s %12s %11s  %s\n", s.run_name.c_str(),
                  si(static_cast<double>(s.parameter_count)).c_str(), si(s.flops_per_token).c_str(),
                  si(static_cast<double>(s.train.tokens_per_step(world_size))).c_str(),
                  si(s.total_flops(world_size)).c_str(),
                  it == status.end() ? "new" : it->second.c_str());
    out << line;
    total += s.total_flops(world_size);
  }
  out << "  total training FLOPs: " << si(total) << "\n";
  print_budget_rounding(out, specs, world_size);
  print_eval_tasks(out, specs);
}

}  // namespace attnlab::run
