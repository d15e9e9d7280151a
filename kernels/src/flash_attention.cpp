// LibTorch's flash attention with a sliding window as a differentiable function (see
// attention_backend.h). aten::_flash_attention_forward/_backward are called through the boxed
// dispatcher by argument name, so this compiles against any LibTorch and follows its schema:
// 2.5 and 2.6 return (and the backward takes) philox_seed/philox_offset, 2.7 on
// rng_state/unused, later versions add defaulted arguments. Flash works on [B, T, heads, D];
// attnlab's [B, heads, T, D] tensors are transposed views of that, so no copies sit between.
#include <torch/torch.h>

#include <string>

#include "attnlab/kernels/attention_backend.h"

namespace attnlab::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// saved_data keys of the forward outputs the backward takes under the same name (the random
// state: philox_seed/philox_offset or rng_state/unused).
const std::string kPassedOn = "passed on:";

// [B, heads, T, D] as flash's [B, T, heads, D] with a unit-stride last dim (a view if possible).
torch::Tensor flash_layout(const torch::Tensor& t_BNTD) {
  const auto t_BTND = t_BNTD.transpose(1, 2);
  return t_BTND.stride(-1) == 1 ? t_BTND : t_BTND.contiguous();
}

bool has_argument(const c10::FunctionSchema& schema, const std::string& name) {
  return schema.argumentIndexWithName(name).has_value();
}

// The output of the forward named `name` (flash's returns are named in every version).
const c10::IValue& output_named(const c10::FunctionSchema& schema,
                                const std::vector<c10::IValue>& outputs, const std::string& name) {
  for (size_t i = 0; i < schema.returns().size(); ++i) {
    if (schema.returns()[i].name() == name) return outputs.at(i);
  }
  throw std::invalid_argument("flash attention: " + schema.name() + " returns no '" + name +
                              "'; this LibTorch's schema differs from the one attnlab expects");
}

// The arguments forward and backward share; window_size_right = 0 with is_causal gives
// window.h's i - window <= j <= i.
NamedArgs common_args(int64_t T, int64_t window, double scale) {
  return {{"max_q", T},
          {"max_k", T},
          {"dropout_p", 0.0},
          {"is_causal", true},
          {"scale", scale},
          {"window_size_left", window},
          {"window_size_right", int64_t{0}}};
}

class FlashWindowedAttention : public torch::autograd::Function<FlashWindowedAttention> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q_BHTD,
                               const torch::Tensor& k_BKTD, const torch::Tensor& v_BKTD,
                               int64_t window, double scale, const FlashOps& ops) {
    const auto q_BTHD = flash_layout(q_BHTD), k_BTKD = flash_layout(k_BKTD),
               v_BTKD = flash_layout(v_BKTD);
    NamedArgs args = common_args(q_BHTD.size(2), window, scale);
    args.insert(args.end(), {{"query", q_BTHD},
                             {"key", k_BTKD},
                             {"value", v_BTKD},
                             {"cum_seq_q", c10::IValue()},
                             {"cum_seq_k", c10::IValue()},
                             {"return_debug_mask", false}});
    const auto outputs = call_by_name(ops.forward, args);

    const auto& forward = ops.forward.schema();
    const auto& backward = ops.backward.schema();
    for (size_t i = 0; i < forward.returns().size(); ++i) {
      const auto& name = forward.returns()[i].name();
      if (has_argument(backward, name)) ctx->saved_data[kPassedOn + name] = outputs.at(i);
    }
    const auto out_BTHD = output_named(forward, outputs, "output").toTensor();
    const auto lse_BHT = output_named(forward, outputs, "softmax_logsumexp").toTensor();
    ctx->save_for_backward({q_BTHD, k_BTKD, v_BTKD, out_BTHD, lse_BHT});
    ctx->saved_data["window"] = window;
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["backward_op"] = backward.name();
    ctx->saved_data["backward_overload"] = backward.overload_name();
    return out_BTHD.transpose(1, 2);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q_BTHD = saved[0], &k_BTKD = saved[1], &v_BTKD = saved[2];
    NamedArgs args = common_args(q_BTHD.size(1), ctx->saved_data["window"].toInt(),
                                 ctx->saved_data["scale"].toDouble());
    args.insert(args.end(), {{"grad_out", flash_layout(grads[0])},
                             {"query", q_BTHD},
                             {"key", k_BTKD},
                             {"value", v_BTKD},
                             {"out", saved[3]},
                             {"logsumexp", saved[4]},
                             {"cum_seq_q", torch::Tensor()},
                             {"cum_seq_k", torch::Tensor()}});
    for (const auto& [key, value] : ctx->saved_data) {
      if (key.rfind(kPassedOn, 0) == 0) args.emplace_back(key.substr(kPassedOn.size()), value);
    }
    const auto op = c10::Dispatcher::singleton().findSchemaOrThrow(
        ctx->saved_data["backward_op"].toStringRef().c_str(),
        ctx->saved_data["backward_overload"].toStringRef().c_str());
    const auto d = call_by_name(op, args);
    return {d.at(0).toTensor().transpose(1, 2),
            d.at(1).toTensor().transpose(1, 2),
            d.at(2).toTensor().transpose(1, 2),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

std::optional<FlashOps> find_flash_ops() {
  auto& dispatcher = c10::Dispatcher::singleton();
  const auto forward = dispatcher.findSchema({"aten::_flash_attention_forward", ""});
  const auto backward = dispatcher.findSchema({"aten::_flash_attention_backward", ""});
  if (!forward || !backward || !flash_schema_has_window_args(forward->schema()) ||
      !flash_schema_has_window_args(backward->schema())) {
    return std::nullopt;
  }
  return FlashOps{*forward, *backward};
}

}  // namespace

bool flash_schema_has_window_args(const c10::FunctionSchema& schema) {
  return has_argument(schema, "window_size_left") && has_argument(schema, "window_size_right");
}

const std::optional<FlashOps>& linked_flash_ops() {
  static const std::optional<FlashOps> ops = find_flash_ops();
  return ops;
}

torch::Tensor flash_windowed_attention(const AttentionCall& call, const FlashOps& ops) {
  return FlashWindowedAttention::apply(call.q_BHTD, call.k_BKTD, call.v_BKTD, call.window,
                                       call.scale, ops);
}

}  // namespace attnlab::kernels
