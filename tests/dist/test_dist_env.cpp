// The launcher environment (torchrun, Slurm, our own launcher) and the launch plan: pure
// functions, no processes.
#include <catch2/catch.hpp>

#include <map>

#include "attnlab/dist/env.h"
#include "attnlab/dist/launch.h"

using namespace attnlab::dist;

namespace {

EnvLookup env_of(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

}  // namespace

TEST_CASE("no launcher environment means a single process", "[dist][env]") {
  CHECK_FALSE(parse_dist_env(env_of({})).has_value());
  CHECK_FALSE(parse_dist_env(env_of({{"SLURM_NTASKS", "1"}, {"SLURM_PROCID", "0"}})).has_value());
}

TEST_CASE("torchrun environment", "[dist][env]") {
  const auto env = parse_dist_env(env_of({{"RANK", "5"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "8"},
                                          {"MASTER_ADDR", "node07"}, {"MASTER_PORT", "29400"},
                                          {"ATTNLAB_DEVICE", "1"},
                                          {"ATTNLAB_INTRA_OP_THREADS", "3"}}));
  REQUIRE(env);
  CHECK(env->source == "torchrun");
  CHECK(env->rank == 5);
  CHECK(env->local_rank == 1);
  CHECK(env->world_size == 8);
  CHECK(env->master_addr == "node07");
  CHECK(env->master_port == 29400);
  CHECK(env->device_id == "1");
  CHECK(env->intra_op_threads == 3);

  // LOCAL_RANK defaults to RANK; torchrun's variables win over Slurm's.
  const auto both = parse_dist_env(env_of({{"RANK", "1"}, {"WORLD_SIZE", "2"},
                                           {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"},
                                           {"SLURM_NTASKS", "16"}, {"SLURM_PROCID", "9"}}));
  REQUIRE(both);
  CHECK(both->source == "torchrun");
  CHECK(both->local_rank == 1);
  CHECK(both->world_size == 2);
}

TEST_CASE("torchrun environment errors name the variable", "[dist][env]") {
  CHECK_THROWS_WITH(parse_dist_env(env_of({{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"},
                                           {"MASTER_PORT", "1"}})),
                    Catch::Contains("RANK is not set"));
  CHECK_THROWS_WITH(parse_dist_env(env_of({{"WORLD_SIZE", "two"}})),
                    Catch::Contains("WORLD_SIZE='two'"));
  CHECK_THROWS_WITH(parse_dist_env(env_of({{"RANK", "2"}, {"WORLD_SIZE", "2"},
                                           {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}})),
                    Catch::Contains("rank 2 is not below the world size 2"));
  CHECK_THROWS_WITH(parse_dist_env(env_of({{"RANK", "0"}, {"WORLD_SIZE", "2"},
                                           {"MASTER_PORT", "1"}})),
                    Catch::Contains("MASTER_ADDR is not set"));
  CHECK_THROWS_WITH(parse_dist_env(env_of({{"RANK", "0"}, {"WORLD_SIZE", "2"},
                                           {"MASTER_ADDR", "a"}, {"MASTER_PORT", "70000"}})),
                    Catch::Contains("MASTER_PORT=70000"));
}

TEST_CASE("torchrun's agent store and restart count", "[dist][env]") {
  const std::map<std::string, std::string> base{{"RANK", "0"}, {"WORLD_SIZE", "2"},
                                                {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}};
  const auto plain = parse_dist_env(env_of(base));
  REQUIRE(plain);
  CHECK_FALSE(plain->agent_store);  // our launcher, or torchrun's c10d rendezvous: rank 0 serves
  CHECK(plain->restart_count == 0);

  auto vars = base;
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "True";
  vars["TORCHELASTIC_RESTART_COUNT"] = "2";
  const auto agent = parse_dist_env(env_of(vars));
  REQUIRE(agent);
  CHECK(agent->agent_store);
  CHECK(agent->restart_count == 2);
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "False";
  CHECK_FALSE(parse_dist_env(env_of(vars))->agent_store);

  vars["TORCHELASTIC_USE_AGENT_STORE"] = "yes";
  CHECK_THROWS_WITH(parse_dist_env(env_of(vars)),
                    Catch::Contains("TORCHELASTIC_USE_AGENT_STORE='yes'"));
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "True";
  vars["TORCHELASTIC_RESTART_COUNT"] = "-1";
  CHECK_THROWS_WITH(parse_dist_env(env_of(vars)),
                    Catch::Contains("TORCHELASTIC_RESTART_COUNT='-1'"));
}

TEST_CASE("Slurm environment", "[dist][env]") {
  const auto env = parse_dist_env(env_of({{"SLURM_NTASKS", "16"}, {"SLURM_PROCID", "11"},
                                          {"SLURM_LOCALID", "3"}, {"SLURM_STEP_ID", "0"},
                                          {"SLURM_JOB_NODELIST", "gpu[017-018,020],login1"}}));
  REQUIRE(env);
  CHECK(env->source == "slurm");
  CHECK(env->rank == 11);
  CHECK(env->local_rank == 3);
  CHECK(env->world_size == 16);
  CHECK(env->master_addr == "gpu017");
  CHECK(env->master_port == 29500);

  const auto explicit_master =
      parse_dist_env(env_of({{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "0"}, {"SLURM_LOCALID", "0"},
                             {"SLURM_STEPID", "1"}, {"MASTER_ADDR", "10.0.0.5"}, {"MASTER_PORT", "12345"}}));
  REQUIRE(explicit_master);
  CHECK(explicit_master->master_addr == "10.0.0.5");
  CHECK(explicit_master->master_port == 12345);

  CHECK_THROWS_WITH(parse_dist_env(env_of({{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "0"},
                                           {"SLURM_LOCALID", "0"}, {"SLURM_STEP_ID", "0"}})),
                    Catch::Contains("SLURM_JOB_NODELIST is not set"));
  // The batch script of a 2-task job sees SLURM_NTASKS=2 and SLURM_PROCID=0 but no step.
  CHECK_THROWS_WITH(parse_dist_env(env_of({{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "0"},
                                           {"SLURM_JOB_NODELIST", "vm"}})),
                    Catch::Contains("not an srun step") && Catch::Contains("srun attnlab"));
}

TEST_CASE("first host of a Slurm node list", "[dist][env]") {
  CHECK(slurm_first_host("node1") == "node1");
  CHECK(slurm_first_host("node1,node2") == "node1");
  CHECK(slurm_first_host("node[03-05,09]") == "node03");
  CHECK(slurm_first_host("node[7,3]") == "node7");
  CHECK(slurm_first_host("rack[2]-gpu,x") == "rack2-gpu");
  CHECK_THROWS_AS(slurm_first_host("node[03-05"), DistEnvError);
  CHECK_THROWS_AS(slurm_first_host(""), DistEnvError);
}

TEST_CASE("device lists and launch plans", "[dist][launch]") {
  CHECK(parse_device_list("0-3") == std::vector<std::string>{"0", "1", "2", "3"});
  CHECK(parse_device_list("0,2,5") == std::vector<std::string>{"0", "2", "5"});
  CHECK(parse_device_list("0-1,4") == std::vector<std::string>{"0", "1", "4"});
  CHECK_THROWS_WITH(parse_device_list("3-1"), Catch::Contains("runs backwards"));
  CHECK_THROWS_WITH(parse_device_list("0,0"), Catch::Contains("twice"));
  CHECK_THROWS_WITH(parse_device_list("a"), Catch::Contains("--devices 'a'"));

  const auto one_run = plan_launch(2, "", 1, 2);
  REQUIRE(one_run.groups.size() == 1);
  CHECK(one_run.groups[0] == std::vector<std::string>{"0", "1"});
  CHECK(one_run.intra_op_threads == 1);

  const auto side_by_side = plan_launch(0, "0-7", 1, 16);
  CHECK(side_by_side.groups.size() == 8);
  CHECK(side_by_side.groups[7] == std::vector<std::string>{"7"});
  CHECK(side_by_side.intra_op_threads == 2);

  const auto wide = plan_launch(0, "0-7", 8, 4);
  CHECK(wide.groups.size() == 1);
  CHECK(wide.groups[0].size() == 8);
  CHECK(wide.intra_op_threads == 1);

  CHECK_THROWS_WITH(plan_launch(0, "0-7", 3, 8), Catch::Contains("does not divide"));
  CHECK_THROWS_WITH(plan_launch(2, "0-1", 1, 8), Catch::Contains("exclude each other"));
  CHECK_THROWS_WITH(plan_launch(-1, "", 1, 8), Catch::Contains("use 1 or more"));
  CHECK_THROWS_WITH(plan_launch(0, "", 2, 8), Catch::Contains("need --nproc-per-node"));
}
