// check_runnable: what a RunSpec needs from this build and this machine before it may start:
// device and dtype support, and data that exists, is readable and is large enough.
#include <algorithm>
#include <set>

#include "attnlab/data/error.h"
#include "attnlab/data/shard.h"
#include "attnlab/spec/run_spec.h"

namespace attnlab::spec {

namespace {

void check_device(const RunSpec& spec) {
  const auto& device = spec.train.device;
  if (device != "cpu") {
    throw config::ConfigError(
        "train.device", spec.cell.origin_of("train.device"),
        "'" + device + "' needs a CUDA build of attnlab; this build trains on CPU only. "
        "Use train.device=cpu here, or run this experiment where attnlab is built with CUDA "
        "(docs/GPU.md)");
  }
  if (spec.train.dtype != "fp32") {  // bf16 autocast belongs to the CUDA path (docs/GPU.md)
    throw config::ConfigError("train.dtype", spec.cell.origin_of("train.dtype"),
                              "'" + spec.train.dtype +
                                  "' is not supported on CPU; use train.dtype=fp32");
  }
}

// Runs `open` (a loader constructor); a DataError becomes a ConfigError at `key`.
template <class Open>
void at_key(const RunSpec& spec, const std::string& key, Open open) {
  try {
    open();
  } catch (const data::DataError& e) {
    std::string message = e.what();  // the loader names the key itself: say it once
    if (message.rfind(key + ": ", 0) == 0) message.erase(0, key.size() + 2);
    throw config::ConfigError(key, spec.cell.origin_of(key), message);
  }
}

// Without validation files the hold-out comes from the training tokens: the sequence length and
// the hold-out are checked against them here, so the error names the key to change.
void check_token_budget(const RunSpec& spec) {
  if (!spec.data.val_files.empty()) return;
  uint64_t total = 0;
  at_key(spec, "data.train_files", [&] {
    for (const auto& f : data::expand_file_patterns(spec.data.train_files, "data.train_files")) {
      total += data::MappedShard(f).size();
    }
  });
  const uint64_t batch = static_cast<uint64_t>(spec.data.batch_size) * (spec.data.seq_len + 1);
  const auto batch_text = std::to_string(spec.data.batch_size) + " x " +
                          std::to_string(spec.data.seq_len + 1) + " tokens";
  if (total < batch) {
    throw config::ConfigError("train.seq_len", spec.cell.origin_of("train.seq_len"),
                              "one batch of " + batch_text + " needs more than the " +
                                  std::to_string(total) + " tokens of data.train_files; lower "
                                  "train.seq_len or train.batch_size, or add data");
  }
  if (total - std::min(total, spec.data.val_tokens) < batch) {
    throw config::ConfigError(
        "data.val_tokens", spec.cell.origin_of("data.val_tokens"),
        "holding out " + std::to_string(spec.data.val_tokens) + " of the " + std::to_string(total) +
            " tokens of data.train_files for validation leaves fewer than one batch of " +
            batch_text + "; lower data.val_tokens or give data.val_files");
  }
}

// Opens the training stream and the validation set as a run would: every file, its shard
// header and the token budgets are checked by the loader itself (one set of rules).
void check_data(const RunSpec& spec) {
  if (spec.data.train_files.empty()) {
    throw config::ConfigError("data.train_files", spec.cell.origin_of("data.train_files"),
                              "no training files; list llm.c shards (glob patterns allowed), "
                              "e.g. data.train_files='[path/to/*.bin]', or prepare them with "
                              "'attnlab data prepare'");
  }
  check_token_budget(spec);
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
    const auto data_key = nlohmann::json(spec.cell.tree.at("data")).dump() + "/" +
                          std::to_string(spec.train.batch_size) + "x" +
                          std::to_string(spec.train.seq_len);
    if (data_checked.insert(data_key).second) check_data(spec);
  }
}

}  // namespace attnlab::spec
