// The report tables of a synthetic store: each number checked against values computed here
// from the data the store was filled with; states other than finished shown, never dropped.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "attnlab/reports/stats.h"
#include "attnlab/reports/tables.h"
#include "attnlab/store/store.h"
#include "synthetic_store.h"
#include "table_checks.h"

using namespace attnlab::reports;
using namespace attnlab::reports::testing;

namespace {

std::string f4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

TEST_CASE("main table: means, stds, Δ and Welch p per variant; other states kept") {
  auto synth = make_synthetic_store("main", "");
  attnlab::store::Store store(synth.db_path);
  const auto data = load_experiment(store, synth.name);
  CHECK(data.runs.size() == static_cast<size_t>(synth.total_runs));
  REQUIRE(resolve_baseline(data, "") == "dense");
  const Table t = main_table(data, "dense");

  REQUIRE(t.rows.size() == 5);          // every variant, including the one without finished runs
  CHECK(t.rows[0][0].text == "dense");  // baseline first
  const auto& dense = synth.final_val_loss.at("dense");
  for (const std::string variant : {"dense", "gated_window", "no_gating"}) {
    const auto& losses = synth.final_val_loss.at(variant);
    INFO(variant);
    CHECK(number(t, variant, "n") == losses.size());
    CHECK(number(t, variant, "val_loss_mean") == Approx(avg(losses)).epsilon(1e-9));
    CHECK(number(t, variant, "val_loss_std") == Approx(sd(losses)).epsilon(1e-8));
  }
  // gated_window vs dense: Welch by hand.
  const auto& gw = synth.final_val_loss.at("gated_window");
  const double sa = sd(gw) * sd(gw) / gw.size(), sb = sd(dense) * sd(dense) / dense.size();
  const double t_stat = (avg(gw) - avg(dense)) / std::sqrt(sa + sb);
  const double df =
      (sa + sb) * (sa + sb) / (sa * sa / (gw.size() - 1) + sb * sb / (dense.size() - 1));
  CHECK(number(t, "gated_window", "delta") == Approx(avg(gw) - avg(dense)).epsilon(1e-9));
  CHECK(number(t, "gated_window", "t") == Approx(t_stat).epsilon(1e-8));
  CHECK(number(t, "gated_window", "df") == Approx(df).epsilon(1e-8));
  const double p = number(t, "gated_window", "p_value");
  CHECK(p == Approx(welch_t_test(gw, dense).p).epsilon(1e-8));
  CHECK(data_row(t, "gated_window")[column(t, "significant")] == (p < 0.05 ? "yes" : "no"));

  // Display: mean ± std with 4 decimals, the lowest mean in bold (gated_window by design).
  const auto& gw_row = t.rows[1];
  CHECK(gw_row[0].text == "gated_window");
  CHECK(gw_row[3].text == f4(avg(gw)) + " ± " + f4(sd(gw)));
  CHECK(gw_row[3].bold);
  CHECK_FALSE(t.rows[0][3].bold);
  CHECK(gw_row[4].text.find("[") != std::string::npos);
  CHECK(t.rows[0][4].text == "baseline");

  // One finished seed: no error bars. No finished seed: shown with its states.
  const auto& fixed = t.rows[3];
  CHECK(fixed[0].text == "fixed_window");
  CHECK(fixed[1].text == "1 finished, 1 failed");
  CHECK(fixed[3].text.find("n = 1, no error bars") != std::string::npos);
  CHECK(fixed[4].text.find("n = 1, no error bars") != std::string::npos);
  const auto& gd = t.rows[4];
  CHECK(gd[0].text == "gated_dense");
  CHECK(gd[1].text == "1 running, 1 pending");
  CHECK(gd[2].text == "0");
  CHECK(gd[3].text == "—");

  // Another baseline moves the reference.
  const Table t2 = main_table(data, "no_gating");
  CHECK(t2.rows[0][0].text == "no_gating");
  CHECK(std::stod(t2.data_rows[1][column(t2, "delta")]) ==
        Approx(avg(dense) - avg(synth.final_val_loss.at("no_gating"))).epsilon(1e-9));
  CHECK_THROWS_WITH(resolve_baseline(data, "nope"),
                    Catch::Contains("--baseline 'nope' is not an arm or plugin") &&
                        Catch::Contains("'gated_window', 'no_gating'"));
}

TEST_CASE("runs table lists every run with its state") {
  auto synth = make_synthetic_store("runs", "");
  attnlab::store::Store store(synth.db_path);
  const Table t = runs_table(load_experiment(store, synth.name));
  REQUIRE(t.rows.size() == static_cast<size_t>(synth.total_runs));
  int failed = 0, running = 0, pending = 0;
  for (const auto& row : t.data_rows) {
    failed += row[column(t, "status")] == "failed";
    running += row[column(t, "status")] == "running";
    pending += row[column(t, "status")] == "pending";
    CHECK(row[column(t, "code_version")] == "abc1234");
  }
  CHECK(failed == 1);
  CHECK(running == 1);
  CHECK(pending == 1);
  const auto& failed_row = data_row(t, "10");  // ids follow creation order: fixed_window seed 1
  CHECK(failed_row[column(t, "status")] == "failed");
  CHECK(failed_row[column(t, "message")] == "loss became NaN at step 40");
  CHECK(failed_row[column(t, "steps")] == "41");  // index 40 is the 41st step completed
}

TEST_CASE("ablation table: rows from report.ablation_rows, Δ vs the first row") {
  auto synth = make_synthetic_store("ablation", ablation_report_section());
  attnlab::store::Store store(synth.db_path);
  const auto data = load_experiment(store, synth.name);
  const auto table = ablation_table(data);
  REQUIRE(table);
  REQUIRE(table->rows.size() == 4);
  const std::vector<std::string> labels = {"Full Model", "No Gating", "Fixed Window", "No Window"};
  for (size_t i = 0; i < 4; ++i) CHECK(table->rows[i][0].text == labels[i]);
  const auto& full = synth.final_val_loss.at("gated_window");
  const auto& nog = synth.final_val_loss.at("no_gating");
  CHECK(number(*table, "No Gating", "delta") == Approx(avg(nog) - avg(full)).epsilon(1e-9));
  CHECK(number(*table, "No Gating", "p_value") == Approx(welch_t_test(nog, full).p).epsilon(1e-9));
  CHECK(table->rows[0][3].bold);  // the full model has the lowest loss
  CHECK(table->rows[3][3].text.find("no finished runs (1 running, 1 pending)") !=
        std::string::npos);
  CHECK(table->header[4] == "Δ vs Full Model [95% CI]");

  auto plain = make_synthetic_store("no_ablation", "");
  attnlab::store::Store plain_store(plain.db_path);
  CHECK_FALSE(ablation_table(load_experiment(plain_store, plain.name)));

  auto bad = make_synthetic_store(
      "bad_ablation", R"({"ablation_rows": [{"label": "A", "variant": "dense"}, {"label": "B"}]})");
  attnlab::store::Store bad_store(bad.db_path);
  CHECK_THROWS_WITH(
      ablation_table(load_experiment(bad_store, bad.name)),
      Catch::Contains("report.ablation_rows[1] needs string keys 'label' and 'variant'"));
}

TEST_CASE("convergence helpers interpolate between evals") {
  const std::vector<CurvePoint> val = {{0, 5.0}, {100, 4.0}, {200, 3.0}};
  CHECK(*steps_to_reach(val, 3.5) == Approx(150));
  CHECK(*steps_to_reach(val, 5.5) == Approx(0));
  CHECK(*steps_to_reach(val, 3.0) == Approx(200));
  CHECK_FALSE(steps_to_reach(val, 2.9));
  CHECK_FALSE(steps_to_reach({{0, 5.0}, {100, std::nan("")}}, 3.0));  // NaN is not "reached"
  const std::vector<CurvePoint> tokens = {{0, 0}, {10, 1000}, {20, 3000}};
  CHECK(*value_at_step(tokens, 15) == Approx(2000));
  CHECK(*value_at_step(tokens, 10) == Approx(1000));
  CHECK_FALSE(value_at_step(tokens, 25));
}

TEST_CASE("efficiency table: memory, throughput, params, steps and tokens to the baseline loss") {
  auto synth = make_synthetic_store("efficiency", "");
  attnlab::store::Store store(synth.db_path);
  const Table t = efficiency_table(load_experiment(store, synth.name), "dense");
  const double target = avg(synth.final_val_loss.at("dense"));
  CHECK(number(t, "dense", "target_val_loss") == Approx(target).epsilon(1e-9));
  for (const std::string variant : {"dense", "gated_window", "no_gating"}) {
    INFO(variant);
    CHECK(number(t, variant, "peak_memory_bytes") == Approx(avg(synth.peak_bytes.at(variant))));
    CHECK(number(t, variant, "tokens_per_s_mean") == Approx(avg(synth.tokens_per_s.at(variant))));
    CHECK(number(t, variant, "tokens_per_s_std") == Approx(sd(synth.tokens_per_s.at(variant))));
    CHECK(number(t, variant, "n_params") == synth.n_params.at(variant));
  }
  // val/loss at step index s = final + 2 (1 - s/100) reaches the target at
  // s = 100 (1 - (target - final) / 2); the report counts steps completed, s + 1.
  double steps = 1;
  for (double f : synth.final_val_loss.at("gated_window"))
    steps += 100 * (1 - (target - f) / kValSlope) / 3;
  CHECK(number(t, "gated_window", "steps_to_target") == Approx(steps).epsilon(1e-9));
  CHECK(number(t, "gated_window", "tokens_to_target") ==
        Approx(steps * kTokensPerStep).epsilon(1e-9));
  CHECK(number(t, "gated_window", "step_ratio_vs_baseline") == Approx(steps / 101).epsilon(1e-9));
  CHECK(number(t, "dense", "steps_to_target") == 101);
  CHECK(number(t, "dense", "step_ratio_vs_baseline") == 1);
  // fixed_window's loss stays above the target.
  CHECK(t.rows[3][0].text == "fixed_window");
  CHECK(t.rows[3][8].text == "not reached by 1 of 1 seeds");
  // gated_window is fastest to the target and has the most tokens/s? Only the first is by design.
  CHECK(t.rows[1][8].bold);
  const std::string speedup = t.rows[1][10].text;
  CHECK(speedup.find("faster") != std::string::npos);
}

TEST_CASE("an unknown experiment names the ones that exist") {
  auto synth = make_synthetic_store("unknown", "");
  attnlab::store::Store store(synth.db_path);
  CHECK_THROWS_WITH(load_experiment(store, "nope"), Catch::Contains("known: synthetic_unknown"));
}

TEST_CASE("arms with identical val curves seed for seed are named as indistinguishable") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(ATTNLAB_BINARY_DIR) / "test_tmp" / "reports" / "twins";
  fs::remove_all(dir);
  fs::create_directories(dir);
  attnlab::store::Store store((dir / "attnlab.db").string());
  store.upsert_experiment("twins", "experiments/twins.yaml", "{}");
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> loss(3.0, 4.0);
  // Per seed, one random val curve; "twin_a" and "twin_b" log it exactly, "other" perturbs it
  // in the last digit of one eval, "half" has only seed 0 of it.
  std::vector<std::vector<double>> curves(2);
  for (auto& c : curves) c = {loss(rng), loss(rng), loss(rng)};
  const auto add_run = [&](const std::string& variant, int seed, double perturb_last) {
    nlohmann::json config = {
        {"seed", seed},
        {"attention", {{"variant", variant}}},
        {"report",
         {{"ablation_rows",
           {{{"label", "A"}, {"variant", "twin_a"}}, {{"label", "B"}, {"variant", "other"}}}}}}};
    auto run = store.get_or_create_run("twins", variant + std::to_string(seed), variant, seed,
                                       config.dump(), "", "[]", "abc");
    store.claim_run(run.id, "test");
    for (int i = 0; i < 3; ++i) {
      const double v = curves[seed][i] + (i == 2 ? perturb_last : 0.0);
      store.log_metrics(run.id, 10 * i, {{"val/loss", v}, {"train/loss", v}});
    }
    store.set_run_status(run.id, "finished");
  };
  for (int seed : {0, 1}) {
    add_run("twin_a", seed, 0.0);
    add_run("twin_b", seed, 0.0);
    add_run("other", seed, seed == 1 ? std::nextafter(curves[1][2], 9.0) - curves[1][2] : 0.0);
  }
  add_run("half", 0, 0.0);

  const auto data = load_experiment(store, "twins");
  const auto pairs = data.indistinguishable_arms();
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0] == std::make_pair(std::string("twin_a"), std::string("twin_b")));

  const auto has_note = [](const Table& t, const std::string& text) {
    for (const auto& note : t.notes) {
      if (note.find(text) != std::string::npos) return true;
    }
    return false;
  };
  const auto main = main_table(data, "twin_a");
  CHECK(has_note(main, "twin_a and twin_b have identical validation losses"));
  CHECK_FALSE(has_note(main, "other have identical"));
  // The ablation rows (twin_a, other) do not hold both twins: no note there.
  const auto ablation = ablation_table(data);
  REQUIRE(ablation);
  CHECK_FALSE(has_note(*ablation, "identical validation losses"));
}

TEST_CASE("efficiency table: GPU runs show the allocator's peak and what it reserved") {
  auto synth = make_synthetic_store("gpu_memory", "");
  std::vector<double> allocated, reserved;
  {
    attnlab::store::Store store(synth.db_path);
    std::mt19937 rng(std::random_device{}());
    std::uniform_real_distribution<double> unit(1.0, 2.0);
    for (const auto& run : store.runs(synth.name)) {
      if (run.variant != "dense" || run.status != "finished") continue;
      allocated.push_back(unit(rng) * 1e10);
      reserved.push_back(allocated.back() * 1.25);
      store.set_run_info(run.id, "peak_gpu_allocated_bytes", nlohmann::json(allocated.back()).dump());
      store.set_run_info(run.id, "peak_gpu_reserved_bytes", nlohmann::json(reserved.back()).dump());
    }
  }
  REQUIRE_FALSE(allocated.empty());
  attnlab::store::Store store(synth.db_path);
  const Table t = efficiency_table(load_experiment(store, synth.name), "dense");
  CHECK(number(t, "dense", "peak_gpu_allocated_bytes") == Approx(avg(allocated)).epsilon(1e-9));
  CHECK(number(t, "dense", "peak_gpu_reserved_bytes") == Approx(avg(reserved)).epsilon(1e-9));
  // The host's RSS stays in its own column; the cell shows the GPU's figures.
  CHECK(number(t, "dense", "peak_memory_bytes") == Approx(avg(synth.peak_bytes.at("dense"))));
  REQUIRE(t.rows[0][0].text == "dense");
  CHECK(t.rows[0][2].text.find(" GPU (") != std::string::npos);
  CHECK(t.rows[0][2].text.find("reserved)") != std::string::npos);
  CHECK(t.rows[1][2].text.find("GPU") == std::string::npos);  // a CPU arm: RSS only
  CHECK(data_row(t, "gated_window").at(column(t, "peak_gpu_allocated_bytes")).empty());
}

TEST_CASE("attention statistics table: the last attn/* value per run, averaged per arm") {
  auto synth = make_synthetic_store("attention_stats", "");
  std::map<std::string, std::vector<double>> kept, entropy;  // per variant, finished runs
  {
    attnlab::store::Store store(synth.db_path);
    std::mt19937 rng(std::random_device{}());
    std::uniform_real_distribution<double> unit(0.05, 0.95);
    for (const auto& run : store.runs(synth.name)) {
      const bool windowed = run.variant == "gated_window";
      for (int64_t step : {9, 19, 29}) {  // the last logged value counts, not the first
        const double e = 3.0 * unit(rng), k = unit(rng);
        std::vector<std::pair<std::string, double>> values = {{"attn/entropy", e}};
        if (windowed) values.emplace_back("attn/kept_fraction", k);
        store.log_metrics(run.id, step, values);
        if (step != 29 || run.status != "finished") continue;
        entropy[run.variant].push_back(e);
        if (windowed) kept[run.variant].push_back(k);
      }
    }
  }
  attnlab::store::Store store(synth.db_path);
  const auto data = load_experiment(store, synth.name);
  const auto table = attention_stats_table(data);
  REQUIRE(table);
  CHECK(table->header == std::vector<std::string>{"Arm", "Val loss", "Tokens/s", "entropy",
                                                  "kept_fraction"});
  for (const auto& [variant, values] : entropy) {
    INFO(variant);
    CHECK(number(*table, variant, "entropy_mean") == Approx(avg(values)).epsilon(1e-9));
    CHECK(number(*table, variant, "val_loss_mean") ==
          Approx(avg(synth.final_val_loss.at(variant))).epsilon(1e-9));
  }
  REQUIRE(kept.count("gated_window"));
  CHECK(number(*table, "gated_window", "kept_fraction_mean") ==
        Approx(avg(kept.at("gated_window"))).epsilon(1e-9));
  CHECK(data_row(*table, "dense").at(column(*table, "kept_fraction_mean")).empty());

  auto plain = make_synthetic_store("attention_stats_none", "");
  attnlab::store::Store plain_store(plain.db_path);
  CHECK_FALSE(attention_stats_table(load_experiment(plain_store, plain.name)));
}
