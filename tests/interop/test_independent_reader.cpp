// The "done when": the smoke experiment's dense run, trained briefly by the CLI (the
// run tests' small overrides: 2 layers of width 32, T = 32, B = 2, 3 steps at lr 0.03 without
// warmup so the norms' weights move off 1, init_std 0.3 so attention is peaked: a wrong RoPE,
// norm or head mapping shows; eval.tasks [val_loss] over
// 2 batches), exported by `attnlab export`, is read back here WITHOUT the
// interop code — a safetensors parser of a few lines and a naive fp64 forward written from
// transformers' modeling_qwen3.py (embedding, RMSNorm, per-head q/k RMSNorm, rotate-half RoPE
// with rope_theta, GQA by repeat_kv, causal softmax, SwiGLU, final norm, tied LM head) — and its
// mean cross-entropy over the validation tokens attnlab's val_loss reads equals the stored
// eval/val_loss within fp32 tolerance (1e-6 relative). Also `attnlab export` refuses a
// non-empty folder, and `attnlab import` writes a checkpoint a run starts from (init_from), or
// evaluates as it is (train.steps=0) with the original run's losses to the last bit.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <map>

#include "attnlab/data/loader.h"
#include "run_test_util.h"

using namespace attnlab;
using namespace attnlab::test;
using Catch::Contains;
using nlohmann::json;

namespace {

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The F32 tensors of a safetensors file as fp64: u64 header length, JSON header, raw data.
std::map<std::string, torch::Tensor> read_f32_tensors(const fs::path& path) {
  const auto bytes = read_all(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = json::parse(bytes.substr(8, n));
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, e] : header.items()) {
    if (name == "__metadata__") continue;
    REQUIRE(e["dtype"] == "F32");
    const auto begin = e["data_offsets"][0].get<size_t>(), end = e["data_offsets"][1].get<size_t>();
    std::vector<double> values((end - begin) / 4);
    for (size_t i = 0; i < values.size(); ++i) {
      float f;
      std::memcpy(&f, bytes.data() + 8 + n + begin + 4 * i, 4);
      values[i] = f;
    }
    out[name] =
        torch::tensor(values, torch::kFloat64).reshape(e["shape"].get<std::vector<int64_t>>());
  }
  return out;
}

struct Qwen3 {
  json config;
  std::map<std::string, torch::Tensor> weights;
  const torch::Tensor& w(const std::string& name) const { return weights.at(name); }
};

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  return x * torch::rsqrt(x.pow(2).mean(-1, true) + eps) * weight;
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  const auto halves = x.chunk(2, -1);
  return torch::cat({-halves[1], halves[0]}, -1);
}

// Causal self-attention of layer prefix p (model.layers.{i}.) over x_TC.
torch::Tensor qwen3_attention(const Qwen3& m, const std::string& p, const torch::Tensor& x_TC,
                              const torch::Tensor& cos_TD, const torch::Tensor& sin_TD) {
  const auto& c = m.config;
  const int64_t H = c["num_attention_heads"], K = c["num_key_value_heads"], D = c["head_dim"];
  const double eps = c["rms_norm_eps"];
  const int64_t T = x_TC.size(0);
  const auto heads = [&](const std::string& proj, int64_t n) {  // [n, T, D]
    return torch::matmul(x_TC, m.w(p + "self_attn." + proj + ".weight").t())
        .view({T, n, D})
        .transpose(0, 1);
  };
  auto q_HTD = rms_norm(heads("q_proj", H), m.w(p + "self_attn.q_norm.weight"), eps);
  auto k_KTD = rms_norm(heads("k_proj", K), m.w(p + "self_attn.k_norm.weight"), eps);
  q_HTD = q_HTD * cos_TD + rotate_half(q_HTD) * sin_TD;
  k_KTD = k_KTD * cos_TD + rotate_half(k_KTD) * sin_TD;
  const auto k_HTD = k_KTD.repeat_interleave(H / K, 0);  // repeat_kv
  const auto v_HTD = heads("v_proj", K).repeat_interleave(H / K, 0);
  const auto future_TT = torch::ones({T, T}, torch::kBool).triu(1);
  const auto a_HTT = (torch::matmul(q_HTD, k_HTD.transpose(1, 2)) / std::sqrt(double(D)))
                         .masked_fill(future_TT, -INFINITY)
                         .softmax(-1);
  const auto y_TC = torch::matmul(a_HTT, v_HTD).transpose(0, 1).reshape({T, H * D});
  return torch::matmul(y_TC, m.w(p + "self_attn.o_proj.weight").t());
}

torch::Tensor qwen3_logits(const Qwen3& m, const torch::Tensor& ids_T) {
  const auto& c = m.config;
  const int64_t D = c["head_dim"], L = c["num_hidden_layers"], T = ids_T.size(0);
  const double eps = c["rms_norm_eps"], theta = c["rope_theta"];
  const auto inv_freq =
      1.0 / torch::pow(theta, torch::arange(0, D, 2, torch::kFloat64) / double(D));
  const auto freqs_TD2 = torch::outer(torch::arange(T, torch::kFloat64), inv_freq);
  const auto emb_TD = torch::cat({freqs_TD2, freqs_TD2}, -1);
  auto x_TC = m.w("model.embed_tokens.weight").index_select(0, ids_T);
  for (int64_t l = 0; l < L; ++l) {
    const auto p = "model.layers." + std::to_string(l) + ".";
    x_TC = x_TC + qwen3_attention(m, p, rms_norm(x_TC, m.w(p + "input_layernorm.weight"), eps),
                                  emb_TD.cos(), emb_TD.sin());
    const auto h_TC = rms_norm(x_TC, m.w(p + "post_attention_layernorm.weight"), eps);
    const auto up = [&](const std::string& proj) {
      return torch::matmul(h_TC, m.w(p + "mlp." + proj + ".weight").t());
    };
    x_TC = x_TC + torch::matmul(torch::silu(up("gate_proj")) * up("up_proj"),
                                m.w(p + "mlp.down_proj.weight").t());
  }
  const auto& head = c["tie_word_embeddings"].get<bool>() ? m.w("model.embed_tokens.weight")
                                                          : m.w("lm_head.weight");
  return torch::matmul(rms_norm(x_TC, m.w("model.norm.weight"), eps), head.t());
}

// The validation batches `attnlab eval`'s val_loss reads for the run config `tree`.
data::ValidationSet validation_set(const json& tree) {
  data::LoaderOptions o;
  o.train_files = tree["data"]["train_files"].get<std::vector<std::string>>();
  o.val_files = tree["data"]["val_files"].get<std::vector<std::string>>();
  o.val_tokens = tree["data"]["val_tokens"].get<uint64_t>();
  o.vocab_size = tree["data"]["vocab_size"].get<uint32_t>();
  o.batch_size = tree["train"]["batch_size"].get<int>();
  o.seq_len = tree["train"]["seq_len"].get<int>();
  return data::ValidationSet(o);
}

// Mean next-token cross-entropy of the first `batches` validation batches, and the count.
std::pair<double, int64_t> validation_loss(const Qwen3& m, const json& tree, int64_t batches) {
  const auto val = validation_set(tree);
  const int64_t B = tree["train"]["batch_size"], T = tree["train"]["seq_len"];
  std::vector<int32_t> tokens(size_t(B * (T + 1)));
  double sum = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < batches; ++i) {
    val.batch(size_t(i), tokens.data());
    for (int64_t b = 0; b < B; ++b) {
      const auto row = torch::tensor(
          std::vector<int64_t>(tokens.begin() + b * (T + 1), tokens.begin() + (b + 1) * (T + 1)));
      const auto logits_TV = qwen3_logits(m, row.narrow(0, 0, T));
      const auto target_T = row.narrow(0, 1, T);
      sum += (logits_TV.logsumexp(-1) - logits_TV.gather(1, target_T.unsqueeze(1)).squeeze(1))
                 .sum()
                 .item<double>();
      count += T;
    }
  }
  return {sum / double(count), count};
}

const std::vector<std::string> kOverrides = {
    "attention=dense",      "model.n_layer=2",       "model.init_std=0.3", "train.lr=0.03",
    "train.warmup_steps=0", "eval.tasks=[val_loss]", "eval.batches=2"};

struct ExportedRun {
  fs::path db, hf;  // the store and the exported folder
  store::RunRecord run;
};

// The smoke run of kOverrides trained 3 steps by the CLI into dir/interop.db, exported to dir/hf.
ExportedRun train_and_export(const fs::path& dir) {
  ExportedRun e{dir / "interop.db", dir / "hf", {}};
  run_cli_ok(small_run_args("run", e.db, kOverrides, 3));
  e.run = stored_runs(e.db, "smoke").at(0);
  run_cli_ok({"export", "smoke/" + e.run.name, "--format", "safetensors", "--out", e.hf.string(),
              "--db", e.db.string()});
  return e;
}

json stored_eval(const fs::path& db, int64_t run_id, const std::string& name) {
  const auto rows = store::Store(db.string()).evals(run_id, name);
  REQUIRE(!rows.empty());
  return json::parse(rows.back().value_json);
}

}  // namespace

TEST_CASE("an exported dense run read by an independent reader gives attnlab's val_loss",
          "[interop][independent]") {
  const auto dir = fresh_run_dir("interop_independent");
  const auto [db, out, run] = train_and_export(dir);
  const auto target = "smoke/" + run.name;

  const Qwen3 m{json::parse(read_all(out / "config.json")),
                read_f32_tensors(out / "model.safetensors")};
  CHECK(m.config["architectures"] == json{"Qwen3ForCausalLM"});
  const auto expected = stored_eval(db, run.id, "eval/val_loss");
  const auto [loss, tokens] = validation_loss(m, json::parse(run.config_json), 2);
  INFO("independent " << std::setprecision(12) << loss << " over " << tokens << " tokens, attnlab "
                      << expected.dump());
  CHECK(tokens == expected["tokens"].get<int64_t>());
  // fp32 against fp64: ~1e-9 relative here; 1e-6 still fails a q_norm/k_norm swap (~2e-4)
  CHECK(std::abs(loss - expected["loss"].get<double>()) <= 1e-6 * expected["loss"].get<double>());

  const auto again = run_cli(cli(
      {"export", target, "--format", "safetensors", "--out", out.string(), "--db", db.string()}));
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Contains("is not an empty folder; give --force"));
  const auto ckpt = dir / "imported.ckpt";
  const auto imported = run_cli_ok({"import", out.string(), "--out", ckpt.string()});
  CHECK_THAT(imported.out, Contains("plugin dense"));
  // the imported checkpoint starts a run of the same model (train.init_from)
  auto from_import = kOverrides;
  from_import.push_back("train.init_from=" + ckpt.string());
  const auto started = run_cli_ok(small_run_args("run", dir / "from_import.db", from_import, 1));
  CHECK_THAT(started.out + started.err, Contains("initialised the weights from " + ckpt.string()));
}

// Issue 20's "import ... to initialise evaluation": the export imported back and trained for
// train.steps=0 from it is a finished run whose weights are the original's to the last bit (fp32
// round trip), so its validation loss, stored eval/val_loss and export equal the original's
// exactly; `attnlab eval` and `attnlab report` take it like any run.
TEST_CASE("an imported export evaluates as a run of no step with the original's val_loss",
          "[interop][eval_imported]") {
  const auto dir = fresh_run_dir("interop_eval_imported");
  const auto original = train_and_export(dir);
  const auto ckpt = dir / "imported.ckpt";
  run_cli_ok({"import", original.hf.string(), "--out", ckpt.string()});
  auto no_step = kOverrides;
  no_step.push_back("train.init_from=" + ckpt.string());
  const auto db = dir / "imported.db";
  const auto trained = run_cli_ok(small_run_args("train", db, no_step, 0));
  CHECK_THAT(trained.out, Contains("step 0/0 | val loss"));
  const auto run = stored_runs(db, "smoke").at(0);
  CHECK(run.status == "finished");
  CHECK(store::Store(db.string()).run_info(run.id).count("tokens_per_s_mean") == 0);  // no step

  const auto trained_val = store::Store(original.db.string()).metric(original.run.id, "val/loss");
  const auto imported_val = store::Store(db.string()).metric(run.id, "val/loss");
  REQUIRE(imported_val.size() == 1);
  CHECK(imported_val[0].step == 0);
  CHECK(imported_val[0].value == trained_val.back().value);  // bit-exact, no tolerance
  const auto expected = stored_eval(original.db, original.run.id, "eval/val_loss");
  const auto rows = store::Store(db.string()).evals(run.id, "eval/val_loss");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].step == 0);
  INFO("original " << expected.dump() << ", imported " << rows[0].value_json);
  CHECK(json::parse(rows[0].value_json)["loss"].get<double>() == expected["loss"].get<double>());
  CHECK(json::parse(rows[0].value_json)["tokens"] == expected["tokens"]);

  const auto target = "smoke/" + run.name;
  const auto evaluated = run_cli_ok({"eval", target, "--db", db.string()});
  CHECK(stored_eval(db, run.id, "eval/val_loss")["loss"].get<double>() ==
        expected["loss"].get<double>());
  const auto hf = dir / "hf_again";
  run_cli_ok({"export", target, "--format", "safetensors", "--out", hf.string(), "--db",
              db.string()});
  CHECK(read_all(hf / "model.safetensors") == read_all(original.hf / "model.safetensors"));
  run_cli_ok({"report", "--experiment", "smoke", "--out", (dir / "report").string(), "--db",
              db.string()});
  CHECK_THAT(read_all(dir / "report" / "report.md"), Contains(run.name));
}
