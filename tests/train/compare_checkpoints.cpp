// A hidden test case that scripts/stress_resume.sh runs to compare two checkpoint files
// tensor by tensor (the archive bytes are not deterministic, the tensors are):
//   ATTNLAB_CKPT_A=a.ckpt ATTNLAB_CKPT_B=b.ckpt test_train '[.compare]'
#include <catch2/catch.hpp>

#include <cstdlib>

#include "checkpoint_reader.h"

TEST_CASE("compare the checkpoints named by ATTNLAB_CKPT_A and ATTNLAB_CKPT_B", "[.compare]") {
  const char* a = std::getenv("ATTNLAB_CKPT_A");
  const char* b = std::getenv("ATTNLAB_CKPT_B");
  INFO("set ATTNLAB_CKPT_A and ATTNLAB_CKPT_B to the two checkpoint files");
  REQUIRE(a);
  REQUIRE(b);
  using attnlab::test::read_checkpoint;
  CHECK(attnlab::test::checkpoint_differences(read_checkpoint(a), read_checkpoint(b)) == "");
}
