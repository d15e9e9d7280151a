// Tests of the chunked LM head + cross-entropy against plain log_softmax + gather through
// autograd: fp64 at several chunk sizes, a whole decoder's loss and gradients, CPU bf16
// autocast against the unchunked autocast path, and the argument checks.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>

#include "../kernels/naive_attention.h"
#include "attnlab/model/chunked_lm_loss.h"
#include "attnlab/model/decoder.h"
#include "attnlab/torch_compat.h"
#include "small_model_config.h"

using namespace attnlab;

namespace {

const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

// Mean cross-entropy written plainly; the logits go to at least fp32 first, as the unchunked
// decoder loss did.
torch::Tensor plain_cross_entropy(const torch::Tensor& logits_NV, const torch::Tensor& targets_N) {
  const auto logits = logits_NV.to(torch::promote_types(logits_NV.scalar_type(), torch::kFloat32));
  return -torch::log_softmax(logits, 1).gather(1, targets_N.unsqueeze(1)).mean();
}

torch::Tensor unchunked_loss(const torch::Tensor& h_NC, const torch::Tensor& w_VC,
                             const torch::Tensor& targets_N) {
  return plain_cross_entropy(torch::matmul(h_NC, w_VC.t()), targets_N);
}

// max |a − ref| / max |ref|, in fp64.
double rel_err(const torch::Tensor& a, const torch::Tensor& ref) {
  const auto ref64 = ref.to(torch::kFloat64);
  return ((a.to(torch::kFloat64) - ref64).abs().max() / ref64.abs().max()).item<double>();
}

// CPU bf16 autocast while alive; the previous state comes back even when a check throws.
class CpuAutocast {
 public:
  CpuAutocast()
      : was_enabled_(compat::autocast_enabled(c10::DeviceType::CPU)),
        was_dtype_(compat::autocast_dtype(c10::DeviceType::CPU)) {
    compat::set_autocast(c10::DeviceType::CPU, true, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~CpuAutocast() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    compat::set_autocast(c10::DeviceType::CPU, was_enabled_, was_dtype_);
  }
  CpuAutocast(const CpuAutocast&) = delete;
  CpuAutocast& operator=(const CpuAutocast&) = delete;

 private:
  bool was_enabled_;
  c10::ScalarType was_dtype_;
};

struct HeadResult {
  torch::Tensor loss, dh_NC, dw_VC;
};

using HeadLoss = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

// loss_fn on fresh leaf copies of h and w (its forward under bf16 autocast when asked), then
// backward outside autocast, as a training step does.
HeadResult run_head(const HeadLoss& loss_fn, const torch::Tensor& h_NC, const torch::Tensor& w_VC,
                    bool autocast) {
  const auto h = h_NC.detach().clone().requires_grad_(true);
  const auto w = w_VC.detach().clone().requires_grad_(true);
  torch::Tensor loss;
  {
    std::optional<CpuAutocast> scope;
    if (autocast) scope.emplace();
    loss = loss_fn(h, w);
  }
  loss.backward();
  return {loss.detach(), h.grad(), w.grad()};
}

HeadLoss chunked(const torch::Tensor& targets_N, int64_t chunk_rows) {
  return [=](const torch::Tensor& h, const torch::Tensor& w) {
    return model::chunked_lm_loss(h, w, targets_N, chunk_rows);
  };
}

HeadLoss unchunked(const torch::Tensor& targets_N) {
  return [=](const torch::Tensor& h, const torch::Tensor& w) {
    return unchunked_loss(h, w, targets_N);
  };
}

class ReferenceAttention : public AttentionVariant {
 public:
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const AttentionContext&) override {
    return test::naive_attention(q, k, v, -1);
  }
  AttentionFlops flops(int64_t) const override { return {}; }
};

model::ModelConfig decoder_config(bool tie_embeddings) {
  auto c = test::small_model_config("chunked_loss", 61, 2);
  c.tie_embeddings = tie_embeddings;
  return c;
}

}  // namespace

TEST_CASE("chunked LM loss equals plain cross-entropy in fp64 at any chunk size", "[model]") {
  torch::manual_seed(11);
  const int64_t N = 37, C = 16, V = 53;
  const auto h_NC = torch::randn({N, C}, f64);
  const auto w_VC = torch::randn({V, C}, f64) * 0.7;
  const auto targets_N = torch::randint(0, V, {N}, torch::kInt64);
  const auto ref = run_head(unchunked(targets_N), h_NC, w_VC, false);
  for (int64_t chunk_rows : {int64_t{1}, int64_t{5}, N, 4 * N}) {  // 5 does not divide 37
    INFO("chunk_rows " << chunk_rows);
    const auto ours = run_head(chunked(targets_N, chunk_rows), h_NC, w_VC, false);
    CHECK(ours.loss.scalar_type() == torch::kFloat64);
    CHECK(ours.loss.dim() == 0);
    CHECK(rel_err(ours.loss, ref.loss) < 1e-12);
    CHECK(rel_err(ours.dh_NC, ref.dh_NC) < 1e-12);
    CHECK(rel_err(ours.dw_VC, ref.dw_VC) < 1e-12);
  }
}

TEST_CASE("the default chunk holds 256 MiB of fp32 logits, at least one row", "[model]") {
  CHECK(model::default_chunk_rows(50304) == (int64_t{256} << 20) / (50304 * 4));
  CHECK(model::default_chunk_rows(int64_t{1} << 40) == 1);
  CHECK_THROWS_AS(model::default_chunk_rows(0), std::invalid_argument);
}

TEST_CASE("a decoder's chunked loss and gradients equal those of its logits", "[model]") {
  for (bool tie : {true, false}) {
    INFO("tie_embeddings " << tie);
    torch::manual_seed(tie ? 21 : 22);
    const auto config = decoder_config(tie);
    const int64_t V = config.vocab_size;
    model::Decoder m(config, [](const attnlab_layer_dims&) {
      return std::make_shared<ReferenceAttention>();
    });
    m->to(torch::kFloat64);
    {
      torch::NoGradGuard g;  // norms away from one so their gradients are not all alike
      for (auto& p : m->parameters()) {
        if (p.dim() == 1) p.uniform_(0.5, 1.5);
      }
    }
    const auto idx_BT = torch::randint(0, V, {3, 9}, torch::kInt64);
    const auto targets_BT = torch::randint(0, V, {3, 9}, torch::kInt64);
    const auto params = m->named_parameters();
    const auto loss = m->loss(idx_BT, targets_BT);
    const auto grads = torch::autograd::grad({loss}, params.values());
    const auto ref = plain_cross_entropy(m->forward(idx_BT).reshape({-1, V}),
                                         targets_BT.reshape({-1}));
    const auto ref_grads = torch::autograd::grad({ref}, params.values());
    CHECK(loss.scalar_type() == torch::kFloat64);
    CHECK(rel_err(loss, ref) < 1e-12);
    for (size_t i = 0; i < params.size(); ++i) {
      INFO(params.keys()[i]);
      CHECK(rel_err(grads[i], ref_grads[i]) < 1e-12);
    }
  }
}

TEST_CASE("under CPU bf16 autocast the chunked loss is as accurate as the unchunked one",
          "[model]") {
  torch::manual_seed(31);
  const int64_t N = 48, C = 32, V = 257;
  const auto h_NC = torch::randn({N, C});
  const auto w_VC = torch::randn({V, C}) * 0.3;
  const auto targets_N = torch::randint(0, V, {N}, torch::kInt64);
  {
    CpuAutocast scope;  // the unchunked reference really runs its matmul in bf16
    REQUIRE(torch::matmul(h_NC, w_VC.t()).scalar_type() == torch::kBFloat16);
  }
  REQUIRE_FALSE(compat::autocast_enabled(c10::DeviceType::CPU));
  const auto exact = run_head(unchunked(targets_N), h_NC.to(torch::kFloat64),
                              w_VC.to(torch::kFloat64), false);
  const auto bf16 = run_head(unchunked(targets_N), h_NC, w_VC, true);
  const auto fp32 = run_head(chunked(targets_N, 7), h_NC, w_VC, false);
  // A floor of 1e-6 relative, ~10 fp32 roundings and far below one bf16 rounding (2^-9): both
  // paths round the same bf16 logits and differ in the loss only by fp32 summation order, so
  // should the bf16 error cancel to near zero by chance, that order noise must not fail it.
  const double floor = 1e-6;
  for (int64_t chunk_rows : {int64_t{7}, N}) {
    INFO("chunk_rows " << chunk_rows);
    const auto ours = run_head(chunked(targets_N, chunk_rows), h_NC, w_VC, true);
    CHECK(ours.loss.scalar_type() == torch::kFloat32);
    CHECK(ours.dh_NC.scalar_type() == torch::kFloat32);
    CHECK(ours.dw_VC.scalar_type() == torch::kFloat32);
    CHECK(rel_err(ours.loss, exact.loss) <= 2 * rel_err(bf16.loss, exact.loss) + floor);
    CHECK(rel_err(ours.dh_NC, exact.dh_NC) <= 2 * rel_err(bf16.dh_NC, exact.dh_NC) + floor);
    CHECK(rel_err(ours.dw_VC, exact.dw_VC) <= 2 * rel_err(bf16.dw_VC, exact.dw_VC) + floor);
    // and the matmuls did run in bf16: far from the fp32 result's accuracy
    CHECK(rel_err(ours.dh_NC, exact.dh_NC) > 10 * rel_err(fp32.dh_NC, exact.dh_NC));
  }
}

TEST_CASE("chunked LM loss rejects bad targets and arguments, naming them", "[model]") {
  torch::manual_seed(41);
  const int64_t N = 12, C = 8, V = 19;
  const auto h_NC = torch::randn({N, C});
  const auto w_VC = torch::randn({V, C});
  const auto targets_N = torch::randint(0, V, {N}, torch::kInt64);
  for (int64_t bad : {V + torch::randint(0, 50, {1}).item<int64_t>(),
                      -1 - torch::randint(0, 50, {1}).item<int64_t>()}) {
    INFO("bad target " << bad);
    auto t_N = targets_N.clone();
    t_N[torch::randint(0, N, {1}).item<int64_t>()] = bad;
    CHECK_THROWS_AS(model::chunked_lm_loss(h_NC, w_VC, t_N, 4), std::invalid_argument);
    CHECK_THROWS_WITH(model::chunked_lm_loss(h_NC, w_VC, t_N, 4),
                      Catch::Contains("target " + std::to_string(bad) + " is outside [0, 19)"));
  }
  CHECK_THROWS_WITH(model::chunked_lm_loss(h_NC, w_VC, targets_N, 0),
                    Catch::Contains("chunk_rows must be >= 1, got 0"));
  CHECK_THROWS_WITH(model::chunked_lm_loss(h_NC, w_VC.narrow(1, 0, C - 1), targets_N, 4),
                    Catch::Contains("w_VC must be [V, C]"));
  CHECK_THROWS_WITH(model::chunked_lm_loss(h_NC, w_VC.to(torch::kFloat64), targets_N, 4),
                    Catch::Contains("w_VC is Double but h_NC is Float"));
}
