// AdamW from make_adamw against an fp64 AdamW written here from the paper's update
// (decoupled decay only on matrices; a configured parameter group's lr scale and decay), and global-norm gradient clipping as the trainer calls
// it (torch::nn::utils::clip_grad_norm_ with train.grad_clip, infinity when 0).
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "attnlab/train/optimizer.h"
#include "attnlab/train/train_config.h"
#include "tensor_diff.h"
#include "training_reference.h"

using attnlab::test::max_abs_diff;
using attnlab::test::RefParam;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

// A 2-D weight (decayed) and two 1-D parameters (never decayed).
struct Tiny : torch::nn::Module {
  Tiny() {
    weight_OI = register_parameter("weight", torch::randn({4, 3}, kF64));
    bias_O = register_parameter("bias", torch::randn({4}, kF64));
    scale_I = register_parameter("scale", 1.0 + 0.1 * torch::randn({3}, kF64));
  }
  torch::Tensor weight_OI, bias_O, scale_I;
};

attnlab::train::TrainConfig adamw_config() {
  attnlab::train::TrainConfig c;
  c.lr = 0.05;
  c.weight_decay = 0.3;
  c.beta1 = 0.8;    // far from beta2 so both bias corrections matter
  c.beta2 = 0.9;
  c.adam_eps = 1e-4;  // comparable to sqrt(v_hat) of the 1e-3-sized grads: eps placement matters
  return c;
}

}  // namespace

namespace {

// Four AdamW steps of `optimizer` over `model` against the reference, whose per-parameter
// learning-rate scale and weight decay (in model.parameters() order) the test states.
void check_against_reference(torch::nn::Module& model, attnlab::train::Optimizer& optimizer,
                             const attnlab::train::TrainConfig& c,
                             const std::vector<std::pair<double, double>>& lr_scale_and_wd) {
  std::vector<RefParam> ref;
  auto params = model.parameters();
  REQUIRE(params.size() == lr_scale_and_wd.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const auto zeros = torch::zeros_like(params[i]);
    ref.push_back({params[i].detach().clone(), zeros, zeros.clone(), lr_scale_and_wd[i].second});
  }
  const double lrs[] = {0.05, 0.02, 0.08, 0.01};
  for (int t = 1; t <= 4; ++t) {
    optimizer.set_learning_rate(lrs[t - 1]);
    for (size_t i = 0; i < params.size(); ++i) {
      const auto g = 1e-3 * torch::randn(params[i].sizes(), kF64);
      params[i].mutable_grad() = g.clone();
      attnlab::test::reference_adamw_step(ref[i], g, t, lrs[t - 1] * lr_scale_and_wd[i].first, c);
    }
    optimizer.adamw->step();
  }
  const auto named = model.named_parameters();
  for (size_t i = 0; i < named.size(); ++i) {
    INFO(named[i].key() << " (dim " << named[i].value().dim() << ")");
    CHECK(max_abs_diff(named[i].value().detach(), ref[i].p) < 1e-12);
  }
}

}  // namespace

TEST_CASE("make_adamw matches a reference AdamW; 1-D params get no decay", "[train_refs][adamw]") {
  torch::manual_seed(7);
  Tiny model;
  const auto c = adamw_config();
  auto optimizer = attnlab::train::make_adamw(model, c);
  CHECK(optimizer.adamw->param_groups().size() == 2);
  check_against_reference(model, optimizer, c, {{1, c.weight_decay}, {1, 0.0}, {1, 0.0}});
}

TEST_CASE("a configured parameter group gets its lr scale and weight decay", "[train_refs][adamw]") {
  torch::manual_seed(8);
  Tiny model;
  auto c = adamw_config();
  const attnlab::train::GroupedParameters grouped = {{"gate", model.weight_OI},
                                                     {"gate", model.bias_O},
                                                     {"other", model.scale_I}};
  SECTION("lr_scale and weight_decay set: both apply to the group's matrices and vectors") {
    c.param_groups["gate"] = {3.0, 0.05};
    auto optimizer = attnlab::train::make_adamw(model, c, grouped);
    check_against_reference(model, optimizer, c, {{3, 0.05}, {3, 0.05}, {1, 0.0}});
  }
  SECTION("lr_scale alone: the model's decay rule stays") {
    c.param_groups["gate"] = {0.5, std::nullopt};
    auto optimizer = attnlab::train::make_adamw(model, c, grouped);
    check_against_reference(model, optimizer, c, {{0.5, c.weight_decay}, {0.5, 0.0}, {1, 0.0}});
  }
  SECTION("a configured group no parameter is in fails, naming the key and the groups there are") {
    c.param_groups["gates"] = {2.0, std::nullopt};
    CHECK_THROWS_WITH(attnlab::train::make_adamw(model, c, grouped),
                      Catch::Contains("train.param_groups.gates") &&
                          Catch::Contains("groups are: gate, other"));
  }
}

namespace {

// Three fp64 parameters with fresh grads; copies of those grads go to grads_out.
std::vector<torch::Tensor> params_with_grads(std::vector<torch::Tensor>& grads_out) {
  std::vector<torch::Tensor> params;
  for (const auto& shape : {std::vector<int64_t>{5, 3}, {7}, {2, 2, 2}}) {
    auto p = torch::randn(shape, kF64).requires_grad_();
    const auto g = 2.0 * torch::randn(shape, kF64);
    p.mutable_grad() = g.clone();
    params.push_back(p);
    grads_out.push_back(g);
  }
  return params;
}

// sqrt of the sum of every squared grad entry, over all parameters.
double reference_global_norm(const std::vector<torch::Tensor>& grads) {
  double sum = 0.0;
  for (const auto& g : grads) sum += (g * g).sum().item<double>();
  return std::sqrt(sum);
}

// LibTorch 1.13 (torch/nn/utils/clip_grad.h): coef = max_norm / (norm + 1e-6), clamped to at
// most 1, multiplies every grad; the return value is the norm before clipping. The 1e-6 is
// absolute, so even max_norm == norm shrinks the grads by norm / (norm + 1e-6).
void check_clip(double max_norm_over_norm) {
  std::vector<torch::Tensor> grads;
  auto params = params_with_grads(grads);
  const double norm = reference_global_norm(grads);
  const double max_norm = max_norm_over_norm * norm;
  const double scale = std::min(1.0, max_norm / (norm + 1e-6));
  const double returned = torch::nn::utils::clip_grad_norm_(params, max_norm);
  CHECK(returned == Approx(norm).epsilon(1e-13));
  for (size_t i = 0; i < params.size(); ++i) {
    INFO("param " << i << " norm " << norm << " max_norm " << max_norm);
    CHECK(max_abs_diff(params[i].grad(), grads[i] * scale) < 1e-14);
  }
}

}  // namespace

TEST_CASE("clip_grad_norm_ as the trainer uses it", "[train_refs][clip]") {
  torch::manual_seed(11);
  SECTION("clipping: grads scaled to max_norm / (norm + 1e-6)") { check_clip(0.25); }
  SECTION("max_norm == norm still shrinks by the 1e-6") { check_clip(1.0); }
  SECTION("not clipping: max_norm above the norm leaves grads as they were") { check_clip(3.0); }
  SECTION("grad_clip 0: the trainer passes infinity, grads unchanged") {
    check_clip(std::numeric_limits<double>::infinity());
  }
}
