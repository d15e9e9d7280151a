// check_runnable: what a RunSpec needs from this build and this machine before it may start:
// a device this build and machine have, and data that exists, is readable and is large enough.
#include <set>

#include "attnlab/data/error.h"
#include "attnlab/device/device.h"
#include "attnlab/spec/run_spec.h"

namespace attnlab::spec {

namespace {

// The device must parse and exist for this build and machine; a bare "cuda" takes its GPU
// number from the launcher when the run starts (device::place_on), so only "some GPU" is
// checked for it here.
void check_device(const RunSpec& spec) {
  const auto fail = [&](const std::string& why) {
    throw config::ConfigError("train.device", spec.cell.origin_of("train.device"),
                              "'" + spec.train.device + "' " + why);
  };
  torch::Device device(torch::kCPU);
  try {
    device = device::parse_device(spec.train.device);
  } catch (const std::invalid_argument&) {
    fail("is not a device; use cpu, cuda (this process's GPU) or cuda:N (GPU number N)");
  }
  if (const auto why = device::unavailable_reason(device); !why.empty()) fail(why);
  if (!device.is_cuda() && spec.train.grad_reduce_dtype == "bf16") {
    throw config::ConfigError("train.grad_reduce_dtype", spec.cell.origin_of("train.grad_reduce_dtype"),
                              "'bf16' needs NCCL (train.device=cuda): CPU runs reduce gradients "
                              "with Gloo, which all-reduces fp32 only here; use fp32");
  }
}

// Runs `open` (a loader constructor); a DataError becomes a ConfigError at the key the loader
// blames, else at `key`.
template <class Open>
void at_key(const RunSpec& spec, const std::string& key, Open open) {
  try {
    open();
  } catch (const data::DataError& e) {
    const std::string& blamed = e.key().empty() ? key : e.key();
    std::string message = e.what();  // the loader names the key itself: say it once
    if (message.rfind(blamed + ": ", 0) == 0) message.erase(0, blamed.size() + 2);
    throw config::ConfigError(blamed, spec.cell.origin_of(blamed), message);
  }
}

// Opens the training stream and the validation set as a run would: every file, its shard
// header and the token budgets are checked by the loader itself (one set of rules).
void check_data(const RunSpec& spec) {
  at_key(spec, "data.train_files", [&] { data::TokenLoader train(spec.data); });
  const bool own_val_files = !spec.data.val_files.empty();
  at_key(spec, own_val_files ? "data.val_files" : "data.val_tokens",
         [&] { data::ValidationSet val(spec.data); });
}

}  // namespace

void check_runnable(const std::vector<RunSpec>& specs) {
  std::set<std::string> data_checked;  // cells that share their data are checked once
  for (const auto& spec : specs) {
    check_device(spec);
    const auto data_key = spec.cell.tree.at("data").dump() + "/" +
                          std::to_string(spec.train.batch_size) + "x" +
                          std::to_string(spec.train.seq_len);
    if (data_checked.insert(data_key).second) check_data(spec);
  }
}

}  // namespace attnlab::spec
