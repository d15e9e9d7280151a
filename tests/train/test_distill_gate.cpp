// Gate self-distillation (train.distill_gate, docs/DISTILLATION.md) end to end through the
// CLI: a tiny dense run checkpoints; a block_gate run starts from its weights (train.init_from)
// and trains only the gate. Every other tensor stays bit-identical to the dense checkpoint,
// the optimizer holds only the gate, the distillation loss falls and the recall of the
// teacher's top blocks rises; killed and resumed, the run ends bit-identical to the
// uninterrupted one. The refusals: no init_from, a variant without a gate to distil, and a
// checkpoint of another shape (naming the file and the tensor).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "attnlab/train/metric_names.h"
#include "train_fixture.h"

using namespace attnlab::test;
namespace metric = attnlab::metric;

namespace {

constexpr int kDistillSteps = 12;

// The block_gate settings of the distillation runs: 8 blocks of 8 at the fixture's T = 64.
const std::vector<std::string> kBlockGate = {"attention.options.block_size=8",
                                             "attention.options.top_blocks=2"};

// The dense run the distillation starts from (trained once per process): its setup.
const TrainSetup& dense_run() {
  static const TrainSetup setup = [] {
    TrainSetup s;
    s.dir = fresh_dir("distill_dense");
    s.experiment = write_smoke_with_lr(s.dir, "3.0e-3");  // no eval: section, no matrix
    run_training_ok(s);
    return s;
  }();
  return setup;
}

fs::path dense_run_folder() { return dense_run().checkpoint_dir().parent_path(); }

// train.init_from=<path>, quoted: run folders are named like "attention=dense,seed=0", and an
// unquoted comma makes a sweep.
std::string init_from(const fs::path& path) { return "train.init_from='" + path.string() + "'"; }

// A block_gate distillation run from the dense run's folder, in a fresh folder `name`.
TrainSetup distill_setup(const std::string& name) {
  TrainSetup s;
  s.dir = fresh_dir(name);
  s.experiment = write_smoke_with_lr(s.dir, "3.0e-3");
  s.variant = "block_gate";
  s.overrides = kBlockGate;
  s.overrides.insert(s.overrides.end(),
                     {"train.distill_gate=true", init_from(dense_run_folder()),
                      "train.steps=" + std::to_string(kDistillSteps), "train.lr=3e-2",
                      "train.warmup_steps=0", "train.keep_checkpoints=100"});
  return s;
}

double mean_of(const std::vector<attnlab::store::Store::MetricPoint>& points, size_t from,
               size_t n) {
  double sum = 0.0;
  for (size_t i = from; i < from + n; ++i) sum += points.at(i).value;
  return sum / n;
}

// Tensors named model.* in `c`.
std::vector<std::string> model_tensor_names(const CheckpointContents& c) {
  std::vector<std::string> names;
  for (const auto& [name, t] : c.tensors) {
    if (name.rfind("model.", 0) == 0) names.push_back(name);
  }
  return names;
}

// Runs `setup`, which must fail; everything it printed.
std::string refusal(const TrainSetup& setup) {
  const auto outcome = run_training(setup);
  INFO(transcript(outcome));
  CHECK(outcome.exit_code != 0);
  CHECK(outcome.term_signal == 0);
  return outcome.out + outcome.err;
}

}  // namespace

TEST_CASE("distillation trains only the gate, from the dense run's weights", "[train][distill]") {
  const auto dense = read_checkpoint(dense_run().final_checkpoint());
  const auto setup = distill_setup("distill_gate");
  const auto outcome = run_training_ok(setup);
  CHECK(outcome.out.find("initialised the weights from " +
                         dense_run().final_checkpoint().string()) != std::string::npos);
  const auto files = setup.checkpoints();
  REQUIRE(files.size() == kDistillSteps);
  const auto first = read_checkpoint(files.front()), last = read_checkpoint(files.back());

  // Every tensor of the dense model is bit-identical at the end; the others are the gate's,
  // and each of them moved between the first and the last step.
  size_t gate_tensors = 0;
  for (const auto& name : model_tensor_names(last)) {
    INFO(name);
    const auto it = dense.tensors.find(name);
    if (it != dense.tensors.end()) {
      CHECK(torch::equal(it->second, last.tensors.at(name)));
      continue;
    }
    CHECK(name.find(".attn.variant.gate_") != std::string::npos);
    CHECK_FALSE(torch::equal(first.tensors.at(name), last.tensors.at(name)));
    ++gate_tensors;
  }
  CHECK(gate_tensors == 4);  // 2 layers x (query, key) projections
  // AdamW holds state for the gate's parameters only.
  size_t optimizer_states = 0;
  for (const auto& [name, t] : last.tensors) {
    const auto slash = name.rfind('/');
    if (name.rfind("optimizer/state/", 0) == 0 && name.substr(slash + 1) == "exp_avg") {
      ++optimizer_states;
    }
  }
  CHECK(optimizer_states == gate_tensors);

  const auto rec = read_store(setup.db());
  CHECK(rec.run.status == "finished");
  const auto& loss = rec.metrics.at(metric::kTrainDistillLoss);
  const auto& recall = rec.metrics.at(metric::kTrainDistillRecall);
  REQUIRE(has_every_step_once(loss, kDistillSteps));
  REQUIRE(has_every_step_once(recall, kDistillSteps));
  REQUIRE(has_every_step_once(rec.metrics.at(metric::kTrainLoss), kDistillSteps));
  CHECK(rec.metrics.count(metric::kValLoss) == 1);
  for (const auto& p : recall) CHECK((p.value >= 0.0 && p.value <= 1.0));
  const size_t tail = kDistillSteps - 3;
  CHECK(mean_of(loss, tail, 3) < 0.9 * mean_of(loss, 0, 3));
  CHECK(mean_of(recall, tail, 3) > mean_of(recall, 0, 3));
  CHECK(recall.back().value > recall.front().value);
  // run_info: where the weights came from, and the final distillation values for reports.
  const auto init = nlohmann::json::parse(rec.info.at(metric::kInfoInitFrom));
  CHECK(init.at("file") == dense_run().final_checkpoint().string());
  CHECK(init.at("step") == kSteps);
  CHECK(std::stod(rec.info.at(metric::kInfoFinalDistillLoss)) == loss.back().value);
  CHECK(std::stod(rec.info.at(metric::kInfoFinalDistillRecall)) == recall.back().value);

  SECTION("killed and resumed, it ends bit-identical and ignores init_from") {
    auto again = distill_setup("distill_gate_resumed");
    CliRun run;
    run.when = [](const std::string& line) { return progress_step(line) == 5; };
    run.signal = SIGKILL;
    const auto killed = run_training(again, run);
    INFO(transcript(killed));
    REQUIRE(killed.term_signal == SIGKILL);
    const auto resumed = run_training_ok(again);
    CHECK(resumed.out.find("resumed from the checkpoint at step") != std::string::npos);
    CHECK(resumed.out.find("initialised the weights") == std::string::npos);
    CHECK(checkpoint_differences(last, read_checkpoint(again.checkpoints().back())) == "");
    CHECK(recording_differences(rec, read_store(again.db())) == "");
  }
}

TEST_CASE("distillation and init_from refuse what they cannot do", "[train][distill]") {
  SECTION("distill_gate without init_from names train.init_from") {
    auto setup = distill_setup("distill_no_init");
    setup.overrides = with_overrides(setup.overrides, {"train.init_from="});
    const auto said = refusal(setup);
    CHECK(said.find("train.init_from") != std::string::npos);
    CHECK(said.find("checkpoint") != std::string::npos);
  }
  SECTION("a variant without a gate to distil points at block_gate") {
    auto setup = distill_setup("distill_dense_variant");
    setup.variant = "dense";
    setup.overrides = with_overrides({}, {"train.distill_gate=true",
                                          init_from(dense_run_folder())});
    const auto said = refusal(setup);
    CHECK(said.find("train.distill_gate") != std::string::npos);
    CHECK(said.find("block_gate") != std::string::npos);
  }
  SECTION("a checkpoint of another shape names the file, the tensor and both shapes") {
    auto setup = distill_setup("distill_other_shape");
    setup.variant = "dense";
    setup.overrides = {"model.ffn_hidden=48",
                       init_from(dense_run().final_checkpoint())};
    const auto said = refusal(setup);
    CHECK(said.find(dense_run().final_checkpoint().string()) != std::string::npos);
    CHECK(said.find("blocks.0.mlp.down.weight") != std::string::npos);  // [d_model, ffn_hidden]
    CHECK(said.find("[32, 64]") != std::string::npos);                 // in the file
    CHECK(said.find("[32, 48]") != std::string::npos);                 // in the model
  }
  SECTION("init_from naming nothing says what to give") {
    auto setup = distill_setup("distill_missing_file");
    setup.variant = "dense";
    setup.overrides = {init_from(setup.dir / "nowhere")};
    const auto said = refusal(setup);
    CHECK(said.find("no such file or folder") != std::string::npos);
    CHECK(said.find("step_*.ckpt") != std::string::npos);
  }
}
