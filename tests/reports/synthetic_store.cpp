// Builds the synthetic results store of the report tests (see synthetic_store.h).
#include "synthetic_store.h"

#include <filesystem>
#include <random>
#include <tuple>

#include "attnlab/train/metric_names.h"

namespace attnlab::reports::testing {

namespace fs = std::filesystem;

std::string ablation_report_section() {
  return R"({"ablation_rows": [
    {"label": "Full Model", "variant": "gated_window"},
    {"label": "No Gating", "variant": "no_gating"},
    {"label": "Fixed Window", "variant": "fixed_window"},
    {"label": "No Window", "variant": "gated_dense"}]})";
}

std::string fresh_store_path(const std::string& tag) {
  const fs::path dir = fs::path(ATTNLAB_BINARY_DIR) / "test_tmp" / "reports" / tag;
  fs::remove_all(dir);
  fs::create_directories(dir);  // a store is created only in an existing directory
  return (dir / "attnlab.db").string();
}

SyntheticExperiment make_synthetic_store(const std::string& tag,
                                         const std::string& report_section) {
  SyntheticExperiment out;
  out.name = "synthetic_" + tag;
  out.db_path = fresh_store_path(tag);
  store::Store store(out.db_path);
  store.upsert_experiment(out.name, "experiments/" + out.name + ".yaml", "{}");

  std::mt19937 rng(std::hash<std::string>{}(tag) % 100000 + 17);
  std::uniform_real_distribution<double> jitter(-0.02, 0.02), unit(0.0, 1.0);
  struct Planned {
    std::string variant;
    double centre;
    std::vector<std::string> statuses;  // one per seed
  };
  const std::vector<Planned> plan = {
      {"dense", 3.30, {"finished", "finished", "finished"}},
      {"gated_window", 3.20, {"finished", "finished", "finished"}},
      {"no_gating", 3.25, {"finished", "finished"}},
      {"fixed_window", 3.40, {"finished", "failed"}},
      {"gated_dense", 3.22, {"running", "pending"}},
  };
  const size_t layers = 4, heads = 6;
  out.gate_mean_LH.assign(layers, std::vector<double>(heads, 0.0));
  nlohmann::json config = {{"seed", 0}, {"attention", {{"variant", ""}}}};
  if (!report_section.empty()) config["report"] = nlohmann::json::parse(report_section);

  for (const auto& p : plan) {
    for (size_t seed = 0; seed < p.statuses.size(); ++seed) {
      const std::string& status = p.statuses[seed];
      config["seed"] = seed;
      config["attention"]["variant"] = p.variant;
      auto run = store.get_or_create_run(out.name,
                                         "attention=" + p.variant + ",seed=" + std::to_string(seed),
                                         p.variant, static_cast<int64_t>(seed), config.dump(), "",
                                         "[\"seed=" + std::to_string(seed) + "\"]", "abc1234");
      ++out.total_runs;
      if (status == "pending") continue;
      store.claim_run(run.id, "test");
      // A failed run stops at step 40, a running one is at step 60.
      const int last = status == "failed" ? 40 : status == "running" ? 60 : kLastStep;
      const double final_loss = p.centre + jitter(rng);
      for (int step = 0; step <= last; ++step) {
        const double progress = 1.0 - step / static_cast<double>(kLastStep);
        store.log_metrics(run.id, step,
                          {{metric::kTrainLoss, final_loss + 0.1 + 2.5 * progress + jitter(rng)},
                           {metric::kTrainLr, 1e-3},
                           {metric::kTrainTokens, (step + 1) * kTokensPerStep},
                           {metric::kTrainStepTimeS, 0.08 + 0.01 * unit(rng)},
                           {metric::kTrainTokensPerS, 50000 + 1000 * unit(rng)}});
        if (step % 20 == 0) {
          store.log_metrics(run.id, step, {{metric::kValLoss, final_loss + kValSlope * progress}});
        }
      }
      const double tps = 48000 + 4000 * unit(rng);
      const double peak = 1.5e9 + 1e8 * unit(rng);
      const double n_params = p.variant.find("gated") == 0 ? 12345678 : 12345000;
      store.set_run_info(run.id, metric::kInfoNParams, nlohmann::json(n_params).dump());
      store.set_run_info(run.id, metric::kInfoFlopsPerToken, "74070000");
      store.set_run_info(run.id, metric::kInfoPeakMemoryBytes, nlohmann::json(peak).dump());
      store.set_run_info(run.id, metric::kInfoTokensPerSMean, nlohmann::json(tps).dump());
      store.set_run_info(run.id, "device", "\"cpu\"");
      if (p.variant == "gated_window") {
        std::vector<std::vector<double>> gates(layers, std::vector<double>(heads));
        for (size_t l = 0; l < layers; ++l) {
          for (size_t h = 0; h < heads; ++h) {
            gates[l][h] = 0.1 + 0.8 * unit(rng);
            out.gate_mean_LH[l][h] += gates[l][h] / 3.0;
          }
        }
        store.log_eval(run.id, kLastStep, metric::kGateMean, nlohmann::json(gates).dump());
      }
      if (status == "finished") {
        store.set_run_status(run.id, "finished");
        out.final_val_loss[p.variant].push_back(final_loss);
        out.tokens_per_s[p.variant].push_back(tps);
        out.peak_bytes[p.variant].push_back(peak);
        out.n_params[p.variant] = n_params;
      } else if (status == "failed") {
        store.set_run_status(run.id, "failed", "loss became NaN at step 40");
      }
    }
  }
  // An older row of the same setup, from before extra_bytes was measured: replaced below.
  store.add_bench_attention({"dense", 256, 2, 4, 32, "float32", 1.0, 3.0, 1 << 20, 1.0, "cpu", ""});
  for (const char* plugin : {"dense", "gated_window", "unrelated_plugin"}) {
    for (int64_t seq : {256, 512, 1024, 2048}) {
      const double ms = (plugin[0] == 'd' ? 2e-5 : 1.2e-5) * seq * seq / 256 + 0.5;
      store.add_bench_attention({plugin, seq, 2, 4, 32, "float32", ms / 3, ms,
                                 static_cast<int64_t>(seq) * seq * 64, 1.0, "cpu", "",
                                 bench_attention_extra_bytes(seq)});
    }
  }
  // Training-step benchmarks: an older setup (batch 8) that the figures must ignore, then the
  // latest one (tiny, batch 4).
  store.add_bench_train({"tiny", "dense", 512, 8, 1.0, 1.0, 1, 0.1, "cpu", ""});
  for (const char* variant : {"dense", "gated_window", "unrelated_plugin"}) {
    for (int64_t seq : {256, 512, 1024}) {
      const double tps = train_bench_tokens_per_s(variant, seq);
      store.add_bench_train(
          {"tiny", variant, seq, 4, tps, 4.0 * seq / tps * 1e3, seq * (1 << 20), 0.05, "cpu", ""});
    }
  }
  return out;
}

void add_finished_run(store::Store& store, const std::string& experiment, const std::string& plugin,
                      int64_t seed, nlohmann::json config, double final_loss,
                      std::optional<double> mfu_mean) {
  config["seed"] = seed;
  const std::string name = "run" + std::to_string(store.runs(experiment).size());
  auto run =
      store.get_or_create_run(experiment, name, plugin, seed, config.dump(), "", "[]", "abc1234");
  store.claim_run(run.id, "test");
  for (int step = 0; step <= kLastStep; step += 20) {
    const double val = final_loss + kValSlope * (1.0 - step / static_cast<double>(kLastStep));
    store.log_metrics(run.id, step, {{metric::kValLoss, val}, {metric::kTrainLoss, val + 0.1}});
  }
  if (mfu_mean) store.set_run_info(run.id, metric::kInfoMfuMean, nlohmann::json(*mfu_mean).dump());
  store.set_run_status(run.id, "finished");
}

SweepExperiment make_sweep_store(const std::string& tag, const nlohmann::json& report,
                                 const nlohmann::json& order_seed) {
  SweepExperiment out;
  out.name = "sweep_" + tag;
  out.db_path = fresh_store_path(tag);
  store::Store store(out.db_path);
  store.upsert_experiment(out.name, "experiments/" + out.name + ".yaml", "{}");
  nlohmann::json config = {
      {"model", {{"d_model", 64}, {"n_layers", 2}}},
      {"data", {{"seq_len", 640}, {"train_files", {"data/train.bin"}}}},
      {"attention", {{"variant", "dense"}, {"options", nlohmann::json::object()}}},
      {"train", {{"lr", 1e-3}, {"steps", kLastStep}}}};
  if (!report.is_null()) config["report"] = report;
  if (!order_seed.is_null()) config["data"]["order_seed"] = order_seed;
  std::mt19937 rng(std::hash<std::string>{}(tag) % 100000 + 5);
  std::uniform_real_distribution<double> jitter(-0.02, 0.02), mfu(0.1, 0.4);
  // arm key -> (plugin, window or 0, centre of the final val loss)
  const std::vector<std::tuple<std::string, std::string, int, double>> arms = {
      {"dense", "dense", 0, 3.30},
      {"window=128", "gated_window", kSweepWindows[0], 3.20},
      {"window=256", "gated_window", kSweepWindows[1], 3.26}};
  for (int64_t seed = 0; seed < 3; ++seed) {
    config["train"]["log_every"] = 10 + 5 * seed;  // bookkeeping: not part of the arm
    config["train"]["eval_every"] = 20 * (seed + 1);
    for (const auto& [key, plugin, window, centre] : arms) {
      config["attention"]["variant"] = plugin;
      config["attention"]["options"] = nlohmann::json::object();
      if (window) config["attention"]["options"] = {{"window", window}, {"gate_init", 0.5}};
      const double loss = centre + jitter(rng);
      const std::optional<double> utilisation =
          window ? std::optional<double>(mfu(rng)) : std::nullopt;
      add_finished_run(store, out.name, plugin, seed, config, loss, utilisation);
      out.final_val_loss[key].push_back(loss);
      if (utilisation) out.mfu_mean[key].push_back(*utilisation);
    }
  }
  return out;
}

double train_bench_tokens_per_s(const std::string& variant, int64_t seq) {
  return (variant == "dense" ? 9e5 : 1.2e6) / (seq + 200.0);
}

}  // namespace attnlab::reports::testing
