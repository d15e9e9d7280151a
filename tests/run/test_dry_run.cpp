// --dry-run prints the plan, runs every check `run` makes and writes nothing; the paper
// experiments print their plan on a CPU build, then stop saying they need a CUDA build.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "run_test_util.h"

using namespace attnlab;
using namespace attnlab::test;

namespace {

std::string bytes_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("a dry run leaves the store's bytes unchanged", "[run][dry-run]") {
  const auto dir = fresh_run_dir("dry_run_bytes");
  const auto db = dir / "x.db";
  run_cli_ok(small_run_args("run", db, {"attention=dense"}));
  const auto before = bytes_of(db);
  const auto dry = run_cli(cli(small_run_args("run", db, {"attention=dense,fixed_window", "seed=0,1", "--dry-run"})));
  INFO(transcript_of(dry));
  CHECK(dry.exit_code == 0);
  CHECK(dry.out.find("attention=dense,seed=0") != std::string::npos);
  CHECK(dry.out.find("finished") != std::string::npos);
  CHECK(dry.out.find("attention=fixed_window,seed=1") != std::string::npos);
  CHECK(dry.out.find("new") != std::string::npos);
  CHECK(bytes_of(db) == before);
  CHECK(stored_runs(db, "smoke").size() == 1);
}

TEST_CASE("a dry run without a store creates none", "[run][dry-run]") {
  const auto dir = fresh_run_dir("dry_run_none");
  const auto db = dir / "sub" / "x.db";
  const auto dry = run_cli(cli(small_run_args("run", db, {"--dry-run"})));
  INFO(transcript_of(dry));
  CHECK(dry.exit_code == 0);
  CHECK_FALSE(fs::exists(db));
  CHECK_FALSE(fs::exists(dir / "sub"));
}

TEST_CASE("dry run, config show and run reject the same config the same way", "[run][dry-run]") {
  const auto dir = fresh_run_dir("dry_run_reject");
  const auto db = dir / "x.db";
  for (const std::string bad : {"model.n_kv_head=3", "data.val_tokens=9999999", "train.device=cuda"}) {
    const auto dry = run_cli(cli(small_run_args("run", db, {"attention=dense", bad, "--dry-run"})));
    const auto real = run_cli(cli(small_run_args("run", db, {"attention=dense", bad})));
    auto show_args = small_run_args("config", db, {"attention=dense", bad});
    show_args.insert(show_args.begin() + 1, "show");
    show_args.resize(show_args.size() - 2);  // config show has no --db
    const auto show = run_cli(cli(show_args));
    INFO(bad << "\n" << transcript_of(dry) << "\n" << transcript_of(show));
    CHECK(dry.exit_code != 0);
    CHECK(real.exit_code != 0);
    CHECK(show.exit_code != 0);
    const auto key = bad.substr(0, bad.find('='));
    CHECK(dry.err.find("override '" + bad + "'") != std::string::npos);
    const auto message = [](const std::string& err) { return err.substr(err.find("error: ")); };
    CHECK(message(dry.err) == message(real.err));
    CHECK(message(show.err) == message(dry.err));
    CHECK_FALSE(fs::exists(db));  // nothing written, no failed run left behind
  }
}

TEST_CASE("the paper ablation's plan on a CPU build, then 'needs a CUDA build'", "[run][dry-run]") {
  for (const std::string experiment : {"paper_ablation", "paper_ablation_4k"}) {
    const auto dry = run_cli(cli({"run", "experiments/" + experiment + ".yaml", "--dry-run",
                               "--nproc-per-node", "8", "--db",
                               (fresh_run_dir("paper") / "x.db").string()}));
    INFO(transcript_of(dry));
    CHECK(dry.exit_code != 0);
    CHECK(dry.out.find("5 cells, 8 ranks") != std::string::npos);
    for (const std::string v : {"dense", "fixed_window", "no_gating", "gated_window", "gated_dense"}) {
      CHECK(dry.out.find("attention=" + v + ",seed=0") != std::string::npos);
    }
    CHECK(dry.out.find("8.39M") != std::string::npos);  // tokens per step: 256 x 32768 or 2048 x 4096
    CHECK(dry.out.find("total training FLOPs") != std::string::npos);
    CHECK(dry.err.find("needs a CUDA build") != std::string::npos);
    CHECK(dry.err.find("train/paper.yaml") != std::string::npos);
  }
}
