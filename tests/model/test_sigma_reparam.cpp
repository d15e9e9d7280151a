// Tests of model.sigma_reparam (sigma_reparam.h): the initial model is the plain model's
// function, the effective weight's spectral norm is γ, one power-iteration step and the
// gradients against formulas written here in fp64, parameter and buffer names, checkpointing.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <sstream>
#include <string>

#include "attnlab/model/decoder.h"
#include "small_model_config.h"

using namespace attnlab;

namespace {

const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

// Position-wise, no mixing over time: y = sigmoid(<q, k>) * v per query head (GQA by repeat),
// enough to make every projection matter.
class PositionwiseVariant : public AttentionVariant {
 public:
  torch::Tensor forward(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD,
                        const torch::Tensor& v_BKTD, const AttentionContext&) override {
    const int64_t group = q_BHTD.size(1) / k_BKTD.size(1);
    const auto k_BHTD = k_BKTD.repeat_interleave(group, 1);
    const auto gate_BHT1 = torch::sigmoid((q_BHTD * k_BHTD).sum(-1, true));
    return gate_BHT1 * v_BKTD.repeat_interleave(group, 1);
  }
  AttentionFlops flops(int64_t) const override { return {}; }
};

model::ModelConfig sigma_config(bool sigma_reparam) {
  auto c = test::small_model_config("sigma", 61, 2);
  c.sigma_reparam = sigma_reparam;
  return c;
}

model::Decoder make_decoder(bool sigma_reparam, uint64_t seed) {
  torch::manual_seed(seed);
  return model::Decoder(sigma_config(sigma_reparam), [](const attnlab_layer_dims&) {
    return std::make_shared<PositionwiseVariant>();
  });
}

std::set<std::string> keys(const torch::OrderedDict<std::string, torch::Tensor>& named) {
  std::set<std::string> out;
  for (const auto& item : named) out.insert(item.key());
  return out;
}

// The reparametrised linears of one block and the names of their `<name>_sigma` modules.
const std::vector<std::string> kSigmaNames = {
    "attn.q_proj_sigma", "attn.k_proj_sigma", "attn.v_proj_sigma", "attn.o_proj_sigma",
    "mlp.gate_sigma",    "mlp.up_sigma",      "mlp.down_sigma"};

// u <- W v / |W v|, v <- Wᵀ u / |Wᵀ u| element by element.
std::pair<std::vector<double>, std::vector<double>> naive_power_step(const torch::Tensor& w_OI,
                                                                     const torch::Tensor& v_I) {
  const int64_t O = w_OI.size(0), I = w_OI.size(1);
  auto w = w_OI.accessor<double, 2>();
  auto v0 = v_I.accessor<double, 1>();
  std::vector<double> u(O, 0.0), v(I, 0.0);
  double nu = 0.0, nv = 0.0;
  for (int64_t o = 0; o < O; ++o) {
    for (int64_t i = 0; i < I; ++i) u[o] += w[o][i] * v0[i];
    nu += u[o] * u[o];
  }
  for (auto& x : u) x /= std::sqrt(nu);
  for (int64_t i = 0; i < I; ++i) {
    for (int64_t o = 0; o < O; ++o) v[i] += w[o][i] * u[o];
    nv += v[i] * v[i];
  }
  for (auto& x : v) x /= std::sqrt(nv);
  return {u, v};
}

double max_abs_diff(const torch::Tensor& t, const std::vector<double>& ref) {
  return (t - torch::tensor(ref, f64)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("sigma_reparam: the initial model computes the plain model's logits", "[sigma_reparam]") {
  auto plain = make_decoder(false, 21);
  auto reparam = make_decoder(true, 21);
  const auto idx = torch::randint(0, 61, {2, 11}, torch::kInt64);
  torch::NoGradGuard no_grad;
  // max |Δlogit| relative to max |logit|
  auto max_diff = [&](const torch::Tensor& ref_BTV) {
    return ((reparam->forward(idx) - ref_BTV).abs().max() / ref_BTV.abs().max()).item<double>();
  };
  SECTION("fp32") {
    const auto ref_BTV = plain->forward(idx);
    reparam->eval();
    CHECK(max_diff(ref_BTV) == 0.0);  // γ / σ is exactly one: the same σ computation
    reparam->train();                 // one more power-iteration step moves σ by ~1e-6 at most
    CHECK(max_diff(ref_BTV) < 1e-5);
  }
  SECTION("fp64, initialised in fp64") {
    for (auto* m : {&plain, &reparam}) {
      (*m)->to(torch::kFloat64);
      torch::manual_seed(22);
      (*m)->reset_parameters();
    }
    const auto ref_BTV = plain->forward(idx);
    reparam->eval();
    CHECK(max_diff(ref_BTV) < 1e-14);
    reparam->train();  // 100 reset steps leave the next step's σ change at ~5e-8 here
    CHECK(max_diff(ref_BTV) < 1e-6);
  }
}

TEST_CASE("sigma_reparam: the effective weight's spectral norm is γ", "[sigma_reparam]") {
  torch::manual_seed(23);
  SECTION("one linear, converged, any γ") {
    const auto w_OI = torch::randn({24, 40}, f64);
    model::SigmaReparam sigma(24, 40);
    sigma->to(torch::kFloat64);
    sigma->reset(w_OI, 5000, 0.0);
    const double top = torch::linalg_svdvals(w_OI)[0].item<double>();
    CHECK(sigma->gamma.item<double>() == Approx(top).epsilon(1e-10));
    {
      torch::NoGradGuard no_grad;
      sigma->gamma.fill_(0.37);
    }
    sigma->eval();
    const auto w_hat_OI = sigma->effective_weight(w_OI);
    CHECK(torch::linalg_svdvals(w_hat_OI)[0].item<double>() == Approx(0.37).epsilon(1e-10));
  }
  SECTION("the decoder's linears after reset_parameters") {
    auto m = make_decoder(true, 24);
    m->to(torch::kFloat64);
    torch::manual_seed(24);
    m->reset_parameters();
    m->eval();
    const auto params = m->named_parameters();
    for (int64_t l = 0; l < 2; ++l) {
      for (const auto& name : kSigmaNames) {
        const auto prefix = "blocks." + std::to_string(l) + "." + name;
        INFO(prefix);
        const auto w_OI = params[prefix.substr(0, prefix.size() - 6) + ".weight"];
        const double top = torch::linalg_svdvals(w_OI)[0].item<double>();
        // power iteration approaches σ from below; 100 steps leave it within ~1e-7 here
        const double gamma = params[prefix + ".gamma"].item<double>();
        CHECK(gamma <= top * (1 + 1e-12));
        CHECK(gamma == Approx(top).epsilon(1e-6));
      }
    }
  }
}

TEST_CASE("sigma_reparam: one power-iteration step matches the fp64 formula", "[sigma_reparam]") {
  torch::manual_seed(25);
  const auto w_OI = torch::randn({7, 5}, f64);
  model::SigmaReparam sigma(7, 5);
  sigma->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    sigma->u_O.copy_(torch::randn({7}, f64));
    sigma->v_I.copy_(torch::randn({5}, f64));
    sigma->gamma.fill_(1.7);
  }
  const auto [u_ref, v_ref] = naive_power_step(w_OI, sigma->v_I);
  double sigma_ref = 0.0;
  for (int64_t o = 0; o < 7; ++o) {
    for (int64_t i = 0; i < 5; ++i) sigma_ref += u_ref[o] * w_OI[o][i].item<double>() * v_ref[i];
  }
  SECTION("training mode: one step, then Ŵ = (γ/σ) W") {
    const auto w_hat_OI = sigma->effective_weight(w_OI);
    CHECK(max_abs_diff(sigma->u_O, u_ref) < 1e-14);
    CHECK(max_abs_diff(sigma->v_I, v_ref) < 1e-14);
    CHECK(sigma->sigma(w_OI).item<double>() == Approx(sigma_ref).epsilon(1e-13));
    CHECK(torch::allclose(w_hat_OI, w_OI * (1.7 / sigma_ref), 1e-13, 1e-13));
  }
  SECTION("eval mode: no step") {
    sigma->eval();
    const auto u_before = sigma->u_O.clone(), v_before = sigma->v_I.clone();
    sigma->effective_weight(w_OI);
    CHECK(torch::equal(sigma->u_O, u_before));
    CHECK(torch::equal(sigma->v_I, v_before));
  }
}

TEST_CASE("sigma_reparam: gradients reach γ and W as the formula says", "[sigma_reparam]") {
  torch::manual_seed(26);
  SECTION("one linear: L = <R, Ŵ>") {
    const auto w_OI = torch::randn({6, 9}, f64).requires_grad_(true);
    const auto r_OI = torch::randn({6, 9}, f64);
    model::SigmaReparam sigma(6, 9);
    sigma->to(torch::kFloat64);
    sigma->reset(w_OI.detach(), 3, 0.0);  // far from converged: u, v not singular vectors
    {
      torch::NoGradGuard no_grad;
      sigma->gamma.fill_(0.8);
    }
    sigma->eval();
    (sigma->effective_weight(w_OI) * r_OI).sum().backward();
    // Ŵ = γ W / (uᵀ W v): dL/dγ = <R, W> / σ, dL/dW = (γ/σ) (R - <R, W> u vᵀ / σ)
    const auto u = sigma->u_O, v = sigma->v_I, w = w_OI.detach();
    const double s = torch::dot(u, torch::mv(w, v)).item<double>();
    const double rw = (r_OI * w).sum().item<double>();
    CHECK(sigma->gamma.grad().item<double>() == Approx(rw / s).epsilon(1e-12));
    const auto grad_ref = (0.8 / s) * (r_OI - (rw / s) * torch::outer(u, v));
    CHECK(torch::allclose(w_OI.grad(), grad_ref, 1e-12, 1e-12));
  }
  SECTION("the decoder's loss reaches every parameter, γ included") {
    auto m = make_decoder(true, 27);
    const auto idx = torch::randint(0, 61, {2, 9}, torch::kInt64);
    m->loss(idx, torch::randint(0, 61, {2, 9}, torch::kInt64)).backward();
    int64_t gammas = 0;
    for (const auto& p : m->named_parameters()) {
      INFO(p.key());
      REQUIRE(p.value().grad().defined());
      CHECK(p.value().grad().abs().sum().item<double>() > 0);
      gammas += p.key().find("_sigma.gamma") != std::string::npos;
    }
    CHECK(gammas == 2 * 7);
  }
}

TEST_CASE("sigma_reparam: names unchanged when off, state in buffers and checkpoints",
          "[sigma_reparam]") {
  auto plain = make_decoder(false, 28);
  auto reparam = make_decoder(true, 28);
  const auto plain_params = keys(plain->named_parameters());
  const auto reparam_params = keys(reparam->named_parameters());
  const auto reparam_buffers = keys(reparam->named_buffers());
  CHECK(plain_params.count("blocks.0.attn.q_proj.weight") == 1);
  CHECK(plain_params.count("blocks.1.mlp.down.weight") == 1);
  for (const auto& b : keys(plain->named_buffers())) CHECK(b.find("_sigma") == std::string::npos);
  std::set<std::string> expected_params = plain_params, expected_buffers;
  for (int64_t l = 0; l < 2; ++l) {
    for (const auto& name : kSigmaNames) {
      const auto prefix = "blocks." + std::to_string(l) + "." + name;
      expected_params.insert(prefix + ".gamma");
      expected_buffers.insert({prefix + ".u", prefix + ".v"});
    }
  }
  CHECK(reparam_params == expected_params);
  for (const auto& b : expected_buffers) CHECK(reparam_buffers.count(b) == 1);
  int64_t n = 0;
  for (const auto& p : reparam->parameters()) n += p.numel();
  CHECK(sigma_config(true).parameter_count() == n);

  SECTION("u, v and γ survive a save / load into a model initialised differently") {
    reparam->train();
    {
      torch::NoGradGuard no_grad;
      reparam->forward(torch::randint(0, 61, {1, 5}, torch::kInt64));  // moves u, v
    }
    std::stringstream stream;
    torch::save(reparam, stream);
    auto loaded = make_decoder(true, 29);
    torch::load(loaded, stream);
    const auto want = reparam->named_buffers(), got = loaded->named_buffers();
    for (const auto& b : expected_buffers) {
      INFO(b);
      CHECK(torch::equal(got[b], want[b]));
    }
    const auto u = want["blocks.1.mlp.up_sigma.u"];
    CHECK_FALSE(
        torch::equal(make_decoder(true, 29)->named_buffers()["blocks.1.mlp.up_sigma.u"], u));
  }
}
