// `attnlab serve` in a real browser: headless Chromium over WebDriver opens the experiment list,
// the runs page, a running run's page and the comparison page of a store made by the test,
// checks the numbers shown against the store and the report's main table, appends points to the
// running run while its page is open and waits for the chart to take them. Screenshots go to
// build/test-artifacts/serve/. Hidden tag: CTest serve_browser runs it through tests/common/with_tool.sh.
#include <catch2/catch.hpp>
#include <cstdio>

#include "attnlab/reports/experiment_data.h"
#include "attnlab/reports/tables.h"
#include "running_server.h"
#include "serve_store.h"
#include "webdriver.h"

using namespace attnlab;
using namespace attnlab::serve::testing;

namespace {

const std::filesystem::path kArtifacts =
    std::filesystem::path(ATTNLAB_BINARY_DIR) / "test-artifacts" / "serve";

void open_page(WebDriver& browser, const RunningServer& server, const std::string& path,
               const std::string& shot) {
  browser.open(server.url(path));
  INFO("page " << path << ", error shown: " << browser.text("#error").dump());
  REQUIRE(browser.wait_for("document.body.dataset.ready === '1'"));
  CHECK(browser.text("#error") == "");
  browser.screenshot(kArtifacts / (shot + ".png"));
}

std::string fixed4(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

std::string row(const std::string& attribute, const std::string& value, const std::string& cell) {
  return "tr[" + attribute + "='" + value + "'] td." + cell;
}

}  // namespace

TEST_CASE("serve in Chromium: lists, runs, live curves and the comparison", "[.browser]") {
  const auto made = make_serve_store("browser");
  RunningServer server(made.db_path);
  WebDriver browser;
  store::Store s(made.db_path);  // the test's writer: appends to the running run below
  const auto records = s.runs(kExperiment);

  open_page(browser, server, "/", "experiments");
  const std::string experiment_row = std::string("tr[data-experiment='") + kExperiment + "']";
  CHECK(browser.text(experiment_row + " td.runs") == std::to_string(records.size()));
  for (const auto& [status, count] : {std::pair{"finished", "4"}, std::pair{"running", "1"},
                                      std::pair{"failed", "1"}, std::pair{"pending", "0"}}) {
    CHECK(browser.text(experiment_row + " td[data-status='" + status + "']") == count);
  }

  open_page(browser, server, std::string("/experiments/") + kExperiment, "runs");
  CHECK(browser.execute("return document.querySelectorAll('#runs tbody tr').length;") ==
        records.size());
  for (const auto& r : records) {
    INFO(r.name);
    CHECK(browser.text(row("data-run", r.name, "status")) == r.status);
    CHECK(browser.text(row("data-run", r.name, "message")) == r.message);
    const auto val = s.metric(r.id, "val/loss");
    CHECK(browser.text(row("data-run", r.name, "loss")) == fixed4(val.back().value));
  }
  const auto running = s.run(made.running_id);
  CHECK(browser.text(row("data-run", running.name, "step")) == "40 / 100");
  CHECK(browser.text(row("data-run", running.name, "eta")) != "");
  CHECK(browser.text(row("data-run", s.run(made.failed_id).name, "message")) == kFailedMessage);

  open_page(browser, server, "/runs/" + std::to_string(made.running_id), "run");
  const auto train_points = s.metric(made.running_id, "train/loss").size();
  const auto val_points = s.metric(made.running_id, "val/loss").size();
  CHECK(browser.text("#run-status") == "running");
  CHECK(browser.execute("return document.querySelector('#chart').dataset.trainPoints;") ==
        std::to_string(train_points));
  CHECK(browser.execute("return document.querySelector('#chart').dataset.valPoints;") ==
        std::to_string(val_points));
  CHECK(browser.execute("return document.querySelectorAll('#chart canvas').length;") == 1);

  log_progress(s, made.running_id, kRunningStep, 60, 3.3);  // the run trains on
  REQUIRE(browser.wait_for("document.querySelector('#chart').dataset.lastStep === '60'", 10));
  CHECK(browser.execute("return document.querySelector('#chart').dataset.trainPoints;") ==
        std::to_string(train_points + 4));
  CHECK(browser.execute("return document.querySelector('#chart').dataset.valPoints;") ==
        std::to_string(val_points + 1));
  CHECK(browser.text("#run-step") == "60 / 100");
  browser.screenshot(kArtifacts / "run_updated.png");

  open_page(browser, server, std::string("/experiments/") + kExperiment + "/compare", "compare");
  const auto table = reports::main_table(reports::load_experiment(s, kExperiment), "dense");
  CHECK(browser.execute("return document.querySelectorAll('#compare tbody tr').length;") ==
        table.rows.size());
  const char* cells[] = {"arm", "runs", "n", "mean", "delta", "p"};
  for (const auto& cells_of_arm : table.rows) {
    for (size_t c = 0; c < std::size(cells); ++c) {
      INFO(cells_of_arm[0].text << " " << cells[c]);
      CHECK(browser.text(row("data-arm", cells_of_arm[0].text, cells[c])) == cells_of_arm[c].text);
    }
  }
}
