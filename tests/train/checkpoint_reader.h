// Reads a checkpoint file independently of CheckpointManager, following the documented
// layout (docs/CHECKPOINTS.md): "ATTNCKPT" | u32 version | u64 payload bytes | SHA-256 |
// LibTorch archive. Every tensor and value in the archive, nested archives included, is
// flattened to "a/b/c" -> tensor so two checkpoints can be compared entry by entry; AdamW's
// state is keyed by parameter position ("optimizer/state/g0p3/exp_avg"), not by the address
// LibTorch writes.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

namespace attnlab::test {

struct CheckpointContents {
  std::string payload;                          // the archive bytes
  std::map<std::string, torch::Tensor> tensors;  // model.*, optimizer/*, rng.*, meta.json
  std::map<std::string, std::string> values;     // non-tensor entries, as text
};

// Throws std::runtime_error when the header, the length or the SHA-256 does not check out.
CheckpointContents read_checkpoint(const std::filesystem::path& path);

// Empty when both hold the same entries with torch::equal tensors of the same dtype and
// shape; otherwise one line per difference. `ignore_prefix` entries are skipped.
std::string checkpoint_differences(const CheckpointContents& a, const CheckpointContents& b,
                                   const std::vector<std::string>& ignore_prefixes = {});

// How many tensors' names start with `prefix`.
size_t count_with_prefix(const CheckpointContents& c, const std::string& prefix);

// The meta.json entry of a checkpoint (next_step, loader position, fingerprint, ...).
std::string checkpoint_meta_json(const CheckpointContents& c);

}  // namespace attnlab::test
