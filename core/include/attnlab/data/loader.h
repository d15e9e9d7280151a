// The training and validation data streams the trainer reads: memory-mapped llm.c shards cut
// into (T+1)-token windows (stride T, so every token is once a target), shuffled per epoch by
// the order seed, each rank of a distributed run taking a disjoint, deterministic share.
// With data.kind mqar the windows are generated MQAR sequences instead (mqar.h): window w of
// the train stream is train sequence w, validation reads the eval stream, and the loss counts
// only the answers (masks_loss()).
//
// Legend: B = batch_size, T = seq_len; a batch is B rows of T+1 tokens, row-major
// (inputs = row[0..T), targets = row[1..T]).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attnlab/data/error.h"
#include "attnlab/data/mqar.h"

namespace attnlab::data {

// Where a TokenLoader is: `index` batches of epoch `epoch` consumed. Checkpoint it with the
// model; seek() to it and the next batch is exactly the one the interrupted run would have read.
struct LoaderPosition {
  uint64_t epoch = 0;
  uint64_t index = 0;
};

struct LoaderOptions {
  std::vector<std::string> train_files;  // llm.c shards; glob patterns allowed, expanded sorted
  std::vector<std::string> val_files;    // empty: hold out the first val_tokens of the train stream
  uint64_t val_tokens = 0;               // validation token budget (0: no validation)
  uint32_t vocab_size = 0;               // tokens >= vocab_size are a DataError naming file+offset
  uint64_t order_seed = 0;  // seed of the train window order: data.order_seed, or the run's
                            // `seed` when data.order_seed is -1 (the caller resolves it)
  int rank = 0, world_size = 1;
  int batch_size = 0, seq_len = 0;  // B, T: a batch is B x (T+1) tokens
  std::string kind = "shards";      // data.kind: "shards" (the files above) or "mqar"
  MqarOptions mqar;  // data.kind mqar: the generator; its seq_len and vocab_size are set from
                     // seq_len and vocab_size above. train_files, val_files must be empty and
                     // val_tokens 0 (a DataError naming the key otherwise).
};

// Expands each pattern with glob(3), sorted; a pattern matching nothing is a DataError naming
// `key` (e.g. "data.train_files") and the pattern.
std::vector<std::string> expand_file_patterns(const std::vector<std::string>& patterns,
                                              const std::string& key);

class TokenStream;  // the concatenated shards (internal)

// The training stream. Epoch e visits a permutation of the windows of the train region drawn
// from (order_seed, e) by a fully specified generator, the same on every platform (see
// core/data/window_order.h); batch k of rank r takes rows perm[(k*B + b) * world_size + r],
// b < B, so the ranks' batches k together are batch k of one rank with B*world_size rows.
// Each window is read at most once an epoch; the n_windows mod (B*world_size) windows left over
// (none when it divides) differ per epoch. At most 2^32 - 1 windows (a DataError beyond).
// Tokens are checked against vocab_size as they are copied. When the first epoch wraps,
// a warning goes to stderr once: training starts repeating data.
class TokenLoader {
 public:
  explicit TokenLoader(const LoaderOptions& options);
  ~TokenLoader();

  // Fills B*(T+1) tokens, row-major, and when loss_mask_B_T is given B*T flags: 1 where the
  // target counts in the loss (every target of shards; the answers of MQAR).
  void next(int32_t* tokens_B_T1, uint8_t* loss_mask_B_T = nullptr);
  bool masks_loss() const { return options_.kind == "mqar"; }  // some targets do not count
  LoaderPosition position() const { return position_; }
  void seek(const LoaderPosition& position);  // DataError if index is past the epoch's end

  // Tokens this rank has trained on: batches consumed * B * T (targets, not window tokens).
  uint64_t tokens_seen() const;
  uint64_t epoch() const { return position_.epoch; }
  uint64_t train_tokens() const;  // tokens in the train region (after the hold-out; MQAR: seqs x T)
  uint64_t batches_per_epoch() const { return batches_per_epoch_; }  // per rank

 private:
  void open_shards();
  void open_mqar();
  void start_epoch(uint64_t epoch);
  void read_window(uint64_t window, int32_t* tokens_T1, uint8_t* loss_mask_T) const;

  LoaderOptions options_;
  std::unique_ptr<TokenStream> stream_;
  uint64_t train_begin_ = 0;  // first token of the train region in the stream
  uint64_t n_windows_ = 0;
  uint64_t batches_per_epoch_ = 0;
  std::vector<uint32_t> permutation_;  // window order of epoch permutation_epoch_
  uint64_t permutation_epoch_ = ~uint64_t{0};
  LoaderPosition position_;
  bool warned_repeat_ = false;
};

// The validation batches: the first val_tokens tokens of val_files (or, without val_files,
// the tokens held out at the start of the train stream) cut into consecutive windows, never
// shuffled, so every call returns the same batches. Rank r owns global batches r, r+W, ...
// MQAR: eval-stream sequences 0 .. data.mqar.val_sequences-1 in the same order.
class ValidationSet {
 public:
  explicit ValidationSet(const LoaderOptions& options);
  ~ValidationSet();

  size_t n_batches() const { return n_batches_; }  // per rank; 0 when val_tokens is 0
  // As TokenLoader::next: B*(T+1) tokens and, when given, B*T loss flags.
  void batch(size_t i, int32_t* tokens_B_T1, uint8_t* loss_mask_B_T = nullptr) const;
  bool masks_loss() const { return options_.kind == "mqar"; }

 private:
  void open_shards();
  void open_mqar();

  LoaderOptions options_;
  std::unique_ptr<TokenStream> stream_;
  size_t n_batches_ = 0;
};

}  // namespace attnlab::data
