// The names under which the trainer logs metrics and evaluations, and under which reports
// read them back from the store: one list, so a rename cannot split writer and reader.
#pragma once
#include <array>
#include <string_view>

namespace attnlab::metric {

// Per-step scalars (MetricsSink::log).
inline constexpr const char* kTrainLoss = "train/loss";
inline constexpr const char* kTrainLr = "train/lr";
inline constexpr const char* kTrainGradNorm = "train/grad_norm";
inline constexpr const char* kTrainTokensPerS = "train/tokens_per_s";
inline constexpr const char* kTrainStepTimeS = "train/step_time_s";
inline constexpr const char* kTrainTokens = "train/tokens";
inline constexpr const char* kTrainMfu = "train/mfu";
inline constexpr const char* kTrainNonfinite = "train/nonfinite";
inline constexpr const char* kTrainAuxLoss = "train/aux_loss";  // before aux_loss_weight
// train.distill_gate: the mean over layers of the variants' gate distillation loss (what the
// step back-propagates) and of the gate's recall of the teacher's top blocks.
inline constexpr const char* kTrainDistillLoss = "train/distill_loss";
inline constexpr const char* kTrainDistillRecall = "train/distill_recall";
// attn/<statistic>: a variant's statistic (AttentionVariant::statistics) or attn/entropy, the
// mean over layers as a scalar and per layer as an evaluation of the same name.
inline constexpr const char* kAttnPrefix = "attn/";
inline constexpr const char* kAttnEntropy = "attn/entropy";
inline constexpr const char* kValLoss = "val/loss";
inline constexpr const char* kGradSyncExposedS = "dist/grad_sync_exposed_s";

// The per-step scalars computed from wall-clock time. They differ between two runs of one
// config, and between a run and its resume; every comparison of runs (resume checks,
// scripts/stress_resume.sh through `attnlab report --timing-metrics`) skips exactly these.
inline constexpr std::array<const char*, 4> kTimingDerived = {kTrainTokensPerS, kTrainStepTimeS,
                                                              kTrainMfu, kGradSyncExposedS};

// The evaluation of cached generation (eval::evaluate, docs/EVALUATION.md); its field
// tokens_per_s is wall-clock time too. Every comparison of runs skips the fields listed here;
// `attnlab report --timing-metrics` prints them as <eval>:<field>.
inline constexpr const char* kEvalGeneration = "eval/generation";
struct TimingField {
  const char* eval;
  const char* field;
};
inline constexpr std::array<TimingField, 1> kTimingDerivedEvalFields = {
    {{kEvalGeneration, "tokens_per_s"}}};
inline bool is_timing_derived(std::string_view name) {
  for (const char* timing : kTimingDerived) {
    if (name == timing) return true;
  }
  return false;
}

// Structured evaluations (MetricsSink::eval): per layer, per head mean gate activation.
inline constexpr const char* kGateMean = "gate_mean";

// Facts about a whole run (MetricsSink::info), read by reports.
inline constexpr const char* kInfoNParams = "n_params";
inline constexpr const char* kInfoFlopsPerToken = "flops_per_token";
inline constexpr const char* kInfoTokensPerSMean = "tokens_per_s_mean";
inline constexpr const char* kInfoMfuMean = "mfu_mean";
inline constexpr const char* kInfoPeakFlops = "peak_flops";
inline constexpr const char* kInfoPeakMemoryBytes = "peak_memory_bytes";  // host RSS
inline constexpr const char* kInfoPeakGpuAllocatedBytes = "peak_gpu_allocated_bytes";
inline constexpr const char* kInfoPeakGpuReservedBytes = "peak_gpu_reserved_bytes";
inline constexpr const char* kInfoDeviceName = "device_name";
inline constexpr const char* kInfoAttentionBackend = "attention_backend";
inline constexpr const char* kInfoWallTimeS = "wall_time_s";
// The run's training FLOPs (FLOPs/token x tokens/step x steps, all ranks) and, for isoFLOP
// runs (train.flop_budget), the steps the budget bought before rounding.
inline constexpr const char* kInfoTrainingFlops = "training_flops";
inline constexpr const char* kInfoBudgetStepsExact = "budget_steps_exact";
// train.init_from: {"file": the checkpoint whose weights the run started from, "step": the
// step its run had reached}.
inline constexpr const char* kInfoInitFrom = "init_from";
// train.distill_gate: the last step's train/distill_loss and train/distill_recall, written
// after the last step of a run that was not stopped early (reports read them from run_info).
inline constexpr const char* kInfoFinalDistillLoss = "final_distill_loss";
inline constexpr const char* kInfoFinalDistillRecall = "final_distill_recall";

}  // namespace attnlab::metric
