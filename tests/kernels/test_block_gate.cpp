// The block gate's self-distillation (kernels/block_gate.h) against naive fp64 loops written
// here from the formula: the teacher (dense causal attention pooled to key blocks, averaged over
// the group's heads, rows renormalised), the KL loss and the recall of the teacher's top middle
// blocks; and a few Adam steps on the gate projections alone raising the recall on q/k whose
// queries point at one earlier block. (The gate and the attention themselves are checked by the
// plugin conformance reference, tests/plugins/references/block_gate.cpp.)
#include <torch/torch.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <vector>

#include "attnlab/kernels/block_gate.h"

namespace {

using namespace attnlab;
using Vector = std::vector<double>;

constexpr int64_t kBlock = 4;

// teacher[b][κ][t][j], loop by loop.
torch::Tensor naive_teacher(const torch::Tensor& q_BHTD, const torch::Tensor& k_BKTD) {
  const int64_t B = q_BHTD.size(0), H = q_BHTD.size(1), T = q_BHTD.size(2), D = q_BHTD.size(3);
  const int64_t K = k_BKTD.size(1), group = H / K, N = (T + kBlock - 1) / kBlock;
  const auto q = q_BHTD.accessor<double, 4>(), k = k_BKTD.accessor<double, 4>();
  auto teacher = torch::zeros({B, K, T, N}, torch::kDouble);
  auto out = teacher.accessor<double, 4>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t t = 0; t < T; ++t) {
        Vector e(t + 1);
        double sum = 0;
        for (int64_t u = 0; u <= t; ++u) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += q[b][h][t][d] * k[b][h / group][u][d];
          sum += (e[u] = std::exp(dot / std::sqrt(static_cast<double>(D))));
        }
        for (int64_t u = 0; u <= t; ++u) out[b][h / group][t][u / kBlock] += e[u] / sum / group;
      }
    }
  }
  return teacher / teacher.sum(-1, true);
}

// The `n` middle blocks 1..i-1 of largest value (ties to the earlier block).
std::vector<int64_t> top_middle(const torch::TensorAccessor<double, 1>& value, int64_t i,
                                int64_t n) {
  std::vector<int64_t> order(std::max<int64_t>(i - 1, 0));
  std::iota(order.begin(), order.end(), 1);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t x, int64_t y) { return value[x] > value[y]; });
  order.resize(std::min<size_t>(order.size(), static_cast<size_t>(n)));
  return order;
}

struct Naive {
  double loss = 0, recall = 0;
};

Naive naive_distillation(const torch::Tensor& teacher_BKTN, const torch::Tensor& log_p_BKTN,
                         int64_t top) {
  const auto teacher = teacher_BKTN.accessor<double, 4>();
  const auto log_p = log_p_BKTN.accessor<double, 4>();
  Naive out;
  double queries = 0, with_choice = 0;
  for (int64_t b = 0; b < teacher_BKTN.size(0); ++b) {
    for (int64_t kappa = 0; kappa < teacher_BKTN.size(1); ++kappa) {
      for (int64_t t = 0; t < teacher_BKTN.size(2); ++t) {
        const int64_t i = t / kBlock;
        queries += 1;
        for (int64_t j = 0; j <= i; ++j) {
          const double p = teacher[b][kappa][t][j];
          if (p > 0) out.loss += p * (std::log(p) - log_p[b][kappa][t][j]);
        }
        const auto want = top_middle(teacher[b][kappa][t], i, top);
        const auto got = top_middle(log_p[b][kappa][t], i, top);
        if (want.empty()) continue;
        with_choice += 1;
        double hits = 0;
        for (const int64_t j : want) hits += std::count(got.begin(), got.end(), j);
        out.recall += hits / static_cast<double>(want.size());
      }
    }
  }
  out.loss /= queries;
  out.recall = with_choice > 0 ? out.recall / with_choice : 1.0;
  return out;
}

kernels::BlockGateWeights random_weights(int64_t K, int64_t G, int64_t D, double std) {
  const auto o = torch::TensorOptions().dtype(torch::kDouble);
  return {(torch::randn({K, G, D}, o) * std).requires_grad_(),
          (torch::randn({K, G, D}, o) * std).requires_grad_()};
}

kernels::BlockGateParams params(int64_t top) {
  kernels::BlockGateParams p;
  p.block_size = kBlock;
  p.top_blocks = top;
  return p;
}

}  // namespace

TEST_CASE("block_gate teacher, KL and recall match naive loops", "[block_gate]") {
  torch::manual_seed(3);
  const auto o = torch::TensorOptions().dtype(torch::kDouble);
  for (const int64_t T : {3, 13, 30}) {
    for (const int64_t top : {1, 2}) {
      INFO("T " << T << ", top_blocks " << top);
      const auto q = torch::randn({2, 4, T, 8}, o), k = torch::randn({2, 2, T, 8}, o);
      const auto teacher = kernels::block_gate_teacher(q, k, kBlock);
      CHECK_FALSE(teacher.requires_grad());
      CHECK((teacher - naive_teacher(q, k)).abs().max().item<double>() < 1e-12);
      const auto weights = random_weights(2, 6, 8, 0.5);
      const auto gate = kernels::block_gate(q, k, weights, params(top));
      const auto got = kernels::block_gate_distillation(teacher, gate, kBlock, top);
      const auto want = naive_distillation(teacher, gate.log_p_BKTN.detach(), top);
      CHECK(got.loss.item<double>() == Approx(want.loss).epsilon(1e-12));
      CHECK(got.recall.item<double>() == Approx(want.recall).epsilon(1e-12));
      CHECK_FALSE(got.recall.requires_grad());
      if (T <= kBlock) continue;  // one block: p = teacher = 1, loss 0
      CHECK(got.loss.item<double>() > 0);
      got.loss.backward();
      CHECK(weights.query_KGD.grad().abs().sum().item<double>() > 0);
      CHECK(weights.key_KGD.grad().abs().sum().item<double>() > 0);
    }
  }
}

TEST_CASE("block_gate distillation: a perfect gate has loss 0 and recall 1", "[block_gate]") {
  torch::manual_seed(4);
  const auto o = torch::TensorOptions().dtype(torch::kDouble);
  const auto teacher = kernels::block_gate_teacher(torch::randn({1, 2, 21, 8}, o),
                                                   torch::randn({1, 1, 21, 8}, o), kBlock);
  kernels::BlockGate gate{teacher.log(), torch::Tensor()};
  const auto d = kernels::block_gate_distillation(teacher, gate, kBlock, 2);
  CHECK(std::abs(d.loss.item<double>()) < 1e-12);
  CHECK(d.recall.item<double>() == 1.0);
}

// Keys carry their block's direction c_j; each query of block i >= 2 points at block i / 2,
// so the teacher's top middle block is i / 2. Adam on the gate projections alone must learn it.
TEST_CASE("block_gate distillation: Adam steps on the gate raise its recall", "[block_gate]") {
  torch::manual_seed(5);
  const int64_t T = 64, D = 16, N = T / kBlock;
  const auto o = torch::TensorOptions().dtype(torch::kDouble);
  const auto c_ND = torch::randn({N, D}, o) * 2;
  const auto block_T = torch::arange(T).div(kBlock, "floor");
  const auto k = (c_ND.index_select(0, block_T) + 0.3 * torch::randn({T, D}, o)).view({1, 1, T, D});
  const auto target_T = block_T.div(2, "floor").clamp_min(1);
  const auto q =
      (c_ND.index_select(0, target_T) * 1.5 + 0.3 * torch::randn({2, T, D}, o)).view({1, 2, T, D});
  const auto teacher = kernels::block_gate_teacher(q, k, kBlock);
  const auto weights = random_weights(1, 8, D, 0.02);
  torch::optim::Adam adam({weights.query_KGD, weights.key_KGD}, torch::optim::AdamOptions(0.05));
  const auto distill = [&] {
    return kernels::block_gate_distillation(teacher, kernels::block_gate(q, k, weights, params(1)),
                                            kBlock, 1);
  };
  const auto first = distill();
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    distill().loss.backward();
    adam.step();
  }
  const auto last = distill();
  INFO("recall " << first.recall.item<double>() << " -> " << last.recall.item<double>() << ", loss "
                 << first.loss.item<double>() << " -> " << last.loss.item<double>());
  CHECK(last.loss.item<double>() < 0.5 * first.loss.item<double>());
  CHECK(last.recall.item<double>() > first.recall.item<double>() + 0.3);
  CHECK(last.recall.item<double>() > 0.8);
}
