// The golden trajectory: the real Trainer trains a tiny decoder (dense plugin, GQA, tied
// embeddings) for 5 steps of 2 accumulated micro-batches with warm-up, cosine decay, weight
// decay and clipping, from a fixed init on fixed random tokens. A second implementation written
// here from the formulas (RMSNorm, QK-norm, rotate-half RoPE, causal softmax attention, SwiGLU,
// tied LM head, mean cross-entropy; autograd for the gradients; AdamW, schedule and clipping
// from training_reference.h) trains the same model in fp64 and again in fp32. Every step's loss
// and grad norm, the validation loss and every final parameter must lie within twice the fp32
// reference's distance from the fp64 one (plus a floor of a few fp32 ulps of the quantity).
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "attnlab/data/loader.h"
#include "attnlab/data/shard.h"
#include "attnlab/model/decoder.h"
#include "attnlab/plugin/registry.h"
#include "attnlab/train/trainer.h"
#include "training_reference.h"
#include "../model/small_model_config.h"

namespace fs = std::filesystem;
using namespace attnlab;

namespace {

constexpr int64_t kVocab = 61, kSteps = 5, kB = 2, kT = 12, kAccum = 2;

// The model tests' small decoder (GQA: 4 query heads over 2 kv heads), narrower, 2 layers.
model::ModelConfig golden_model() {
  auto c = test::small_model_config("golden", kVocab, 2);
  c.d_model = 16;
  c.head_dim = 4;
  c.ffn_hidden = 24;
  c.init_std = 0.4;  // large enough that 5 steps move the loss well beyond rounding
  return c;
}

train::TrainConfig golden_train() {
  train::TrainConfig c;
  c.steps = kSteps;
  c.batch_size = kB;
  c.seq_len = kT;
  c.grad_accum = kAccum;
  c.lr = 2e-2;
  c.min_lr_ratio = 0.1;
  c.warmup_steps = 2;
  c.weight_decay = 0.1;
  c.beta1 = 0.9;
  c.beta2 = 0.95;
  c.adam_eps = 1e-8;
  c.grad_clip = 1.0;  // below the first steps' norms (checked): clipping is in effect
  c.eval_every = 0;   // validation only after the last step
  c.log_every = 1;
  c.device = "cpu";
  c.dtype = "fp32";
  c.nonfinite = "halt";
  return c;
}

// 600 uniform random tokens: the first 2 * (T+1) are the held-out validation batch.
data::LoaderOptions write_tokens(const fs::path& dir) {
  const auto shard = (dir / "golden.bin").string();
  const auto tokens = torch::randint(kVocab, {600}, torch::kInt32).contiguous();
  data::ShardWriter writer(shard, kVocab);
  writer.append(tokens.data_ptr<int32_t>(), tokens.numel());
  writer.finish();
  data::LoaderOptions o;
  o.train_files = {shard};
  o.val_tokens = kB * (kT + 1);
  o.vocab_size = kVocab;
  o.order_seed = 5;
  o.batch_size = kB;
  o.seq_len = kT;
  return o;
}

class Collect : public train::MetricsSink {
 public:
  void log(int64_t step, const train::MetricValues& values) override {
    for (const auto& [name, value] : values) metrics[name].push_back(value);
  }
  void eval(int64_t, const std::string&, const nlohmann::json&) override {}
  void truncate_after(int64_t) override {}
  void info(const std::string&, const nlohmann::json&) override {}
  std::map<std::string, std::vector<double>> metrics;
};

// ---- the reference model, from the formulas ----

using Params = std::map<std::string, torch::Tensor>;

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  return x / (x.pow(2).mean(-1, true) + eps).sqrt() * w;
}

// Rotate-half RoPE on [B, n, T, D]: pairs (i, i + D/2) turn by position * theta^(-2i/D).
torch::Tensor rope(const torch::Tensor& x_BnTD, double theta) {
  const int64_t T = x_BnTD.size(2), D = x_BnTD.size(3);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto angle_TH = torch::arange(T, f64).unsqueeze(1) *
                        torch::pow(theta, -2.0 * torch::arange(D / 2, f64) / D).unsqueeze(0);
  const auto cos_TH = angle_TH.cos().to(x_BnTD.scalar_type());
  const auto sin_TH = angle_TH.sin().to(x_BnTD.scalar_type());
  const auto a = x_BnTD.narrow(-1, 0, D / 2), b = x_BnTD.narrow(-1, D / 2, D / 2);
  return torch::cat({a * cos_TH - b * sin_TH, b * cos_TH + a * sin_TH}, -1);
}

torch::Tensor attention(const Params& p, const std::string& pre, const torch::Tensor& x_BTC,
                        const model::ModelConfig& c) {
  const int64_t B = x_BTC.size(0), T = x_BTC.size(1), D = c.head_dim;
  auto heads = [&](const std::string& proj, int64_t n) {
    return torch::matmul(x_BTC, p.at(pre + proj + ".weight").t()).view({B, T, n, D}).transpose(1, 2);
  };
  const auto q_BHTD = rope(rms_norm(heads("q_proj", c.n_head), p.at(pre + "q_norm.weight"), c.norm_eps), c.rope_theta);
  auto k_BKTD = rope(rms_norm(heads("k_proj", c.n_kv_head), p.at(pre + "k_norm.weight"), c.norm_eps), c.rope_theta);
  auto v_BKTD = heads("v_proj", c.n_kv_head);
  const int64_t group = c.n_head / c.n_kv_head;  // query head h reads kv head h / group
  const auto k_BHTD = k_BKTD.repeat_interleave(group, 1), v_BHTD = v_BKTD.repeat_interleave(group, 1);
  const auto future_TT = torch::ones({T, T}, torch::kBool).triu(1);
  const auto s_BHTT = torch::matmul(q_BHTD, k_BHTD.transpose(-2, -1)) / std::sqrt(double(D));
  const auto y_BHTD = torch::matmul(torch::softmax(s_BHTT.masked_fill(future_TT, -INFINITY), -1), v_BHTD);
  return torch::matmul(y_BHTD.transpose(1, 2).reshape({B, T, c.n_head * D}), p.at(pre + "o_proj.weight").t());
}

torch::Tensor swiglu(const Params& p, const std::string& pre, const torch::Tensor& x_BTC) {
  const auto gate = torch::matmul(x_BTC, p.at(pre + "gate.weight").t());
  const auto up = torch::matmul(x_BTC, p.at(pre + "up.weight").t());
  return torch::matmul(gate * torch::sigmoid(gate) * up, p.at(pre + "down.weight").t());
}

// Mean next-token cross-entropy of one [B, T+1] batch.
torch::Tensor reference_loss(const Params& p, const torch::Tensor& tokens_BT1, const model::ModelConfig& c) {
  const auto idx_BT = tokens_BT1.narrow(1, 0, kT), targets_BT = tokens_BT1.narrow(1, 1, kT);
  auto x_BTC = p.at("embed.weight").index_select(0, idx_BT.reshape(-1)).view({kB, kT, c.d_model});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const auto pre = "blocks." + std::to_string(l) + ".";
    x_BTC = x_BTC + attention(p, pre + "attn.", rms_norm(x_BTC, p.at(pre + "attn_norm.weight"), c.norm_eps), c);
    x_BTC = x_BTC + swiglu(p, pre + "mlp.", rms_norm(x_BTC, p.at(pre + "mlp_norm.weight"), c.norm_eps));
  }
  const auto logits_BTV = torch::matmul(rms_norm(x_BTC, p.at("final_norm.weight"), c.norm_eps),
                                        p.at("embed.weight").t());
  const auto logp_NV = torch::log_softmax(logits_BTV.reshape({-1, kVocab}), -1);
  return -logp_NV.gather(1, targets_BT.reshape({-1, 1})).mean();
}

struct Trajectory {
  std::vector<double> loss, grad_norm;
  double val_loss = 0;
  Params final_params;
};

torch::Tensor batch_tensor(const std::vector<int32_t>& tokens) {
  return torch::tensor(tokens).to(torch::kInt64).view({kB, kT + 1});
}

// The same 5 steps by the reference, in `dtype`, reading the same batches from a fresh loader.
Trajectory reference_training(const Params& init, torch::ScalarType dtype, const data::LoaderOptions& o) {
  const auto c = golden_model();
  const auto t = golden_train();
  data::TokenLoader loader(o);
  std::vector<int32_t> tokens(kB * (kT + 1));
  std::map<std::string, test::RefParam> state;
  Params p;
  for (const auto& [name, value] : init) {
    const auto v = value.to(dtype);
    state[name] = {v.clone(), torch::zeros_like(v), torch::zeros_like(v), value.dim() >= 2 ? t.weight_decay : 0.0};
  }
  Trajectory out;
  for (int64_t step = 0; step < kSteps; ++step) {
    for (auto& [name, r] : state) p[name] = r.p.detach().clone().requires_grad_();
    double loss_sum = 0;
    for (int64_t micro = 0; micro < kAccum; ++micro) {
      loader.next(tokens.data());
      const auto loss = reference_loss(p, batch_tensor(tokens), c);
      (loss / double(kAccum)).backward();
      loss_sum += loss.item<double>();
    }
    double sq = 0;
    for (auto& [name, q] : p) sq += q.grad().to(torch::kFloat64).pow(2).sum().item<double>();
    const double norm = std::sqrt(sq), clip = std::min(1.0, t.grad_clip / (norm + 1e-6));
    const double lr = test::reference_lr({t.steps, t.warmup_steps, t.lr, t.min_lr_ratio}, step);
    for (auto& [name, r] : state) test::reference_adamw_step(r, p[name].grad() * clip, step + 1, lr, t);
    out.loss.push_back(loss_sum / kAccum);
    out.grad_norm.push_back(norm);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, r] : state) out.final_params[name] = r.p;
  data::ValidationSet val(o);
  val.batch(0, tokens.data());
  out.val_loss = reference_loss(out.final_params, batch_tensor(tokens), c).item<double>();
  return out;
}

// ---- the product ----

Trajectory product_training(model::Decoder& model, const data::LoaderOptions& o) {
  data::TokenLoader loader(o);
  data::ValidationSet val(o);
  Collect sink;
  train::Trainer trainer(model, golden_train(), loader, val, sink, train::TrainerOptions{});
  trainer.run();
  Trajectory out;
  out.loss = sink.metrics["train/loss"];
  out.grad_norm = sink.metrics["train/grad_norm"];
  REQUIRE(sink.metrics["val/loss"].size() == 1);
  out.val_loss = sink.metrics["val/loss"].front();
  for (const auto& item : model->named_parameters()) out.final_params[item.key()] = item.value().detach();
  return out;
}

// |ours - ref64| <= 2 |ref32 - ref64| + floor. The floor is 4 fp32 roundings of `scale`: the
// value itself, or for a sum the sum of its terms' magnitudes (what rounding each term moves).
void check_close(double ours, double ref64, double ref32, double scale) {
  const double floor = 4 * 1.2e-7 * std::max(1.0, scale);
  INFO("ours " << ours << ", fp64 reference " << ref64 << ", fp32 reference " << ref32);
  CHECK(std::abs(ours - ref64) <= 2 * std::abs(ref32 - ref64) + floor);
}

}  // namespace

TEST_CASE("5 steps of the trainer follow an independent fp64 implementation", "[train_refs][golden]") {
  torch::manual_seed(2026);
  const auto dir = fs::temp_directory_path() / ("attnlab_golden_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto options = write_tokens(dir);
  static plugin::PluginRegistry registry(fs::path(ATTNLAB_BINARY_DIR) / "plugins");
  const auto& dense = registry.load("dense");
  model::Decoder model(golden_model(), [&](const attnlab_layer_dims& dims) {
    return dense.create(dims, nlohmann::json::object());
  });
  Params init;
  for (const auto& item : model->named_parameters()) init[item.key()] = item.value().detach().to(torch::kFloat64);
  REQUIRE(init.size() == 1 + 2 * 11 + 1);  // embedding, 11 tensors per block, final norm: nothing unknown

  const auto ref64 = reference_training(init, torch::kFloat64, options);
  const auto ref32 = reference_training(init, torch::kFloat32, options);
  const auto ours = product_training(model, options);
  fs::remove_all(dir);

  REQUIRE(ours.loss.size() == kSteps);
  CHECK(ref64.grad_norm.front() > golden_train().grad_clip);    // clipping was in effect
  CHECK(ref64.loss.back() < ref64.loss.front() - 0.1);          // it trains: not a vacuous match
  for (int64_t s = 0; s < kSteps; ++s) {
    INFO("step " << s);
    check_close(ours.loss[s], ref64.loss[s], ref32.loss[s], ref64.loss[s]);
    check_close(ours.grad_norm[s], ref64.grad_norm[s], ref32.grad_norm[s], ref64.grad_norm[s]);
  }
  check_close(ours.val_loss, ref64.val_loss, ref32.val_loss, ref64.val_loss);
  // Parameter checksums: every final tensor's sum and its weighted sum with fixed random weights.
  for (const auto& [name, ref] : ref64.final_params) {
    INFO(name);
    REQUIRE(ours.final_params.count(name));
    const auto w = torch::rand(ref.sizes(), torch::kFloat64);
    const auto& mine = ours.final_params.at(name);
    const auto& r32 = ref32.final_params.at(name);
    check_close(mine.to(torch::kFloat64).sum().item<double>(), ref.sum().item<double>(),
                r32.to(torch::kFloat64).sum().item<double>(), ref.abs().sum().item<double>());
    check_close((mine.to(torch::kFloat64) * w).sum().item<double>(), (ref * w).sum().item<double>(),
                (r32.to(torch::kFloat64) * w).sum().item<double>(), (ref * w).abs().sum().item<double>());
  }
}
