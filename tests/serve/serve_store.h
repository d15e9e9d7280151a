// The small results store the serve tests read, made with the real store API: experiment
// kExperiment with arms dense and gated_window × seeds 0, 1 finished, a third dense seed
// running (heartbeat, step kRunningStep of kTotalSteps) and a third gated_window seed failed
// with kFailedMessage.
#pragma once
#include <cstdint>
#include <string>

#include "attnlab/store/store.h"

namespace attnlab::serve::testing {

inline constexpr const char* kExperiment = "serve_test";
inline constexpr int64_t kTotalSteps = 100;
inline constexpr int64_t kRunningStep = 40;
inline constexpr int64_t kFailedStep = 30;
inline constexpr int64_t kLogEvery = 5;    // train/loss, train/step_time_s
inline constexpr int64_t kEvalEvery = 20;  // val/loss
inline constexpr const char* kFailedMessage = "out of memory at step 30: test failure";

struct ServeStore {
  std::string db_path;
  int64_t running_id = 0, failed_id = 0;
};

// A fresh store under the build tree for `tag`, filled as above with random losses.
ServeStore make_serve_store(const std::string& tag);

// Logs train/loss and train/step_time_s every kLogEvery completed steps in (from, to], and
// val/loss every kEvalEvery, at the store's 0-based step (completed - 1) as the trainer does.
void log_progress(store::Store& store, int64_t run_id, int64_t from, int64_t to, double base_loss);

}  // namespace attnlab::serve::testing
