// The JSON API of `attnlab serve` against the store it reads and the report's main table: run
// counts, live status and ETA, curves with ?since, the comparison's statistics; errors; and
// that serving never writes the store and keeps answering while a training writes it.
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <iterator>
#include <thread>

#include "attnlab/reports/experiment_data.h"
#include "attnlab/reports/table_json.h"
#include "attnlab/reports/tables.h"
#include "attnlab/serve/server.h"
#include "running_server.h"
#include "serve_store.h"

using namespace attnlab;
using namespace attnlab::serve::testing;

namespace {

std::vector<store::Store::MetricPoint> points(const store::Store& s, int64_t run,
                                              const char* name) {
  return s.metric(run, name);
}

// Steps completed at the last train/loss (stored 0-based).
int64_t completed(const store::Store& s, int64_t run) {
  return points(s, run, "train/loss").back().step + 1;
}

// Naive ETA: remaining steps × the mean of the last 20 step times.
double expected_eta(const store::Store& s, int64_t run) {
  const auto times = points(s, run, "train/step_time_s");
  const size_t n = std::min<size_t>(times.size(), 20);
  double sum = 0;
  for (size_t i = times.size() - n; i < times.size(); ++i) sum += times[i].value;
  return (kTotalSteps - completed(s, run)) * sum / n;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("serve API: experiments and their run counts by status", "[serve]") {
  const auto made = make_serve_store("api_experiments");
  RunningServer server(made.db_path);
  const auto answer = server.get("/api/experiments");
  REQUIRE(answer.status == 200);
  const auto list = answer.json();
  REQUIRE(list.size() == 1);
  CHECK(list[0]["name"] == kExperiment);
  const store::Store s(made.db_path, store::Store::ReadOnly{});
  std::map<std::string, int> counts;
  for (const auto& run : s.runs(kExperiment)) ++counts[run.status];
  CHECK(list[0]["runs"] == s.runs(kExperiment).size());
  for (const char* status : store::kRunStatuses) {
    CHECK(list[0]["status"][status] == counts[status]);
  }
  CHECK(counts["finished"] == 4);
}

TEST_CASE("serve API: runs with status, step, ETA, final val loss and message", "[serve]") {
  const auto made = make_serve_store("api_runs");
  RunningServer server(made.db_path);
  const auto answer = server.get(std::string("/api/experiments/") + kExperiment + "/runs");
  REQUIRE(answer.status == 200);
  const auto runs = answer.json()["runs"];
  const store::Store s(made.db_path, store::Store::ReadOnly{});
  const auto records = s.runs(kExperiment);
  REQUIRE(runs.size() == records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const auto& j = runs[i];
    INFO(r.name);
    CHECK(j["id"] == r.id);
    CHECK(j["name"] == r.name);
    CHECK(j["variant"] == r.variant);
    CHECK(j["arm"] == r.variant);  // the configs differ only in their seeds
    CHECK(j["seed"] == r.seed);
    CHECK(j["status"] == r.status);
    CHECK(j["message"] == r.message);
    CHECK(j["step"] == completed(s, r.id));
    CHECK(j["total_steps"] == kTotalSteps);
    const auto val = points(s, r.id, "val/loss");
    CHECK(j["final_val_loss"].get<double>() == val.back().value);
    if (r.status == "running") {
      CHECK(j["eta_s"].get<double>() == Approx(expected_eta(s, r.id)).epsilon(1e-12));
      CHECK(j["heartbeat_age_s"].get<double>() >= 0);
      CHECK(j["heartbeat_age_s"].get<double>() < 60);
    } else {
      CHECK(j["eta_s"].is_null());
      CHECK(j["heartbeat_age_s"].is_null());
    }
  }
  CHECK(runs[4]["id"] == made.running_id);
  CHECK(runs[4]["step"] == kRunningStep);
  CHECK(runs[5]["message"] == kFailedMessage);
}

TEST_CASE("serve API: a run's curves, all of them and since a step", "[serve]") {
  const auto made = make_serve_store("api_metrics");
  RunningServer server(made.db_path);
  const store::Store s(made.db_path, store::Store::ReadOnly{});
  for (const int64_t since : {0, 20, 37, 1000}) {
    const auto answer = server.get("/api/runs/" + std::to_string(made.running_id) +
                                   "/metrics?since=" + std::to_string(since));
    REQUIRE(answer.status == 200);
    const auto j = answer.json();
    CHECK(j["run"]["status"] == "running");
    CHECK(j["run"]["step"] == kRunningStep);
    CHECK(j["run"]["total_steps"] == kTotalSteps);
    for (const char* name : {"train/loss", "val/loss"}) {
      INFO(name << " since " << since);
      std::vector<std::pair<int64_t, double>> expected;
      for (const auto& p : points(s, made.running_id, name)) {
        if (p.step + 1 >= since) expected.emplace_back(p.step + 1, p.value);
      }
      const auto got = j["curves"][name].get<std::vector<std::pair<int64_t, double>>>();
      CHECK(got == expected);
      CHECK((since == 1000) == got.empty());
    }
  }
}

TEST_CASE("serve API: the comparison is the report's main table", "[serve]") {
  const auto made = make_serve_store("api_compare");
  RunningServer server(made.db_path);
  const auto answer = server.get(std::string("/api/experiments/") + kExperiment + "/compare");
  REQUIRE(answer.status == 200);
  const auto j = answer.json();
  const store::Store s(made.db_path, store::Store::ReadOnly{});
  const auto data = reports::load_experiment(s, kExperiment);
  CHECK(j["baseline"] == "dense");
  CHECK(j["table"] == reports::to_json(reports::main_table(data, "dense")));
  // Independently: mean and sample std of each arm's finished final val losses.
  const auto& rows = j["table"]["data"]["rows"];
  const auto& header = j["table"]["data"]["header"];
  const auto column = [&](const std::string& name) {
    return std::find(header.begin(), header.end(), name) - header.begin();
  };
  for (const auto& row : rows) {
    std::vector<double> finals;
    for (const auto& r : s.runs(kExperiment)) {
      if (r.variant == row[column("arm")] && r.status == "finished") {
        finals.push_back(points(s, r.id, "val/loss").back().value);
      }
    }
    REQUIRE(finals.size() == 2);
    const double mean = (finals[0] + finals[1]) / 2;
    const double std = std::abs(finals[0] - finals[1]) / std::sqrt(2.0);
    CHECK(row[column("val_loss_mean")].get<double>() == Approx(mean).epsilon(1e-9));
    CHECK(row[column("val_loss_std")].get<double>() == Approx(std).epsilon(1e-9));
  }
  const auto other =
      server.get(std::string("/api/experiments/") + kExperiment + "/compare?baseline=gated_window");
  REQUIRE(other.status == 200);
  CHECK(other.json()["arms"] == nlohmann::json({"gated_window", "dense"}));
}

TEST_CASE("serve API: unknown names and bad queries are clear errors", "[serve]") {
  const auto made = make_serve_store("api_errors");
  RunningServer server(made.db_path);
  const auto no_experiment = server.get("/api/experiments/nope/runs");
  CHECK(no_experiment.status == 404);
  CHECK_THAT(no_experiment.json()["error"].get<std::string>(), Catch::Contains("'nope'"));
  CHECK(server.get("/api/runs/999/metrics").status == 404);
  const auto bad_since = server.get("/api/runs/1/metrics?since=abc");
  CHECK(bad_since.status == 400);
  CHECK_THAT(bad_since.json()["error"].get<std::string>(), Catch::Contains("since=abc"));
  CHECK(
      server.get(std::string("/api/experiments/") + kExperiment + "/compare?baseline=zzz").status ==
      400);
  CHECK(server.get("/assets/nothing.js").status == 404);
  const auto chart = server.get("/assets/uPlot.iife.min.js");
  CHECK(chart.status == 200);
  CHECK_THAT(chart.body, Catch::Contains("uPlot"));
  CHECK_THAT(server.get("/runs/3").body, Catch::Contains("/assets/app.js"));
}

TEST_CASE("serve: a missing store and a port in use are refused with what to do", "[serve]") {
  CHECK_THROWS_WITH(serve::Server(serve::ServeOptions{"/nonexistent/attnlab.db"}),
                    Catch::Contains("no results store at /nonexistent/attnlab.db"));
  const auto made = make_serve_store("api_port");
  RunningServer first(made.db_path);
  serve::Server second(serve::ServeOptions{made.db_path, "127.0.0.1", first.port()});
  CHECK_THROWS_WITH(second.bind(), Catch::Contains("in use") && Catch::Contains("--port"));
  CHECK(serve::is_loopback("127.0.0.1"));
  CHECK(serve::is_loopback("::1"));
  CHECK_FALSE(serve::is_loopback("0.0.0.0"));
}

TEST_CASE("serve: never writes the store and answers while a training writes it", "[serve]") {
  const auto made = make_serve_store("api_concurrent");
  {
    store::Store checkpoint(made.db_path);  // fold the WAL into the file: compare bytes below
  }
  const std::string before = file_bytes(made.db_path);
  {
    RunningServer server(made.db_path);
    for (const char* path : {"/api/experiments", "/api/experiments/serve_test/runs",
                             "/api/experiments/serve_test/compare", "/api/runs/1/metrics"}) {
      CHECK(server.get(path).status == 200);
    }
  }
  CHECK(file_bytes(made.db_path) == before);

  RunningServer server(made.db_path);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    store::Store s(made.db_path);
    for (int64_t step = kRunningStep; step < kTotalSteps; step += kLogEvery) {
      log_progress(s, made.running_id, step, step + kLogEvery, 3.3);
      s.heartbeat(made.running_id);
    }
    done = true;
  });
  int answers = 0;
  while (!done || answers == 0) {
    const auto a = server.get("/api/runs/" + std::to_string(made.running_id) + "/metrics");
    REQUIRE(a.status == 200);
    ++answers;
    CHECK(server.get("/api/experiments/serve_test/runs").status == 200);
  }
  writer.join();
  const auto last = server.get("/api/runs/" + std::to_string(made.running_id) + "/metrics").json();
  CHECK(last["run"]["step"] == kTotalSteps);
}
