// The runs table: every run of the experiment, whatever its state: the data behind the
// other tables (arms, seeds, steps, tokens, code version).
#include "attnlab/reports/tables.h"
#include "cells.h"

namespace attnlab::reports {

Table runs_table(const ExperimentData& data) {
  Table table;
  table.id = "runs";
  table.title = "Runs: every run of the experiment";
  table.header = {"Run",          "Arm",    "Seed", "Status", "Steps", "Tokens", "Final val loss",
                  "Code version", "Message"};
  table.data_header = {"run_id", "run",    "variant",        "arm",          "seed",   "status",
                       "steps",  "tokens", "final_val_loss", "code_version", "message"};
  table.data_text_columns = {"run", "variant", "arm", "status", "code_version", "message"};
  for (const auto& run : data.runs) {
    const auto& r = run.record;
    const std::string tokens = run.tokens_seen ? cells::count(*run.tokens_seen) : cells::kNone;
    const std::string loss =
        run.final_val_loss
            ? cells::fixed(*run.final_val_loss, 4) +
                  (run.finished() ? "" : " (at step " + std::to_string(run.final_val_step) + ")")
            : cells::kNone;
    table.rows.push_back({{r.name},
                          {run.arm},
                          {std::to_string(r.seed)},
                          {r.status},
                          {std::to_string(run.steps)},
                          {tokens},
                          {loss},
                          {r.code_version},
                          {r.message}});
    table.data_rows.push_back({std::to_string(r.id), r.name, r.variant, run.arm,
                               std::to_string(r.seed), r.status, std::to_string(run.steps),
                               cells::raw(run.tokens_seen), cells::raw(run.final_val_loss),
                               r.code_version, r.message});
  }
  if (data.runs.empty()) table.notes.push_back("The experiment has no runs yet.");
  return table;
}

}  // namespace attnlab::reports
