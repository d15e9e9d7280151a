// TokenLoader and ValidationSet: windows over memory-mapped shards; see loader.h.
#include "attnlab/data/loader.h"

#include <glob.h>

#include <algorithm>
#include <iostream>

#include "token_stream.h"
#include "window_order.h"

namespace attnlab::data {

namespace {

void check_shape(const LoaderOptions& o) {
  if (o.batch_size <= 0 || o.seq_len <= 0)
    throw DataError("loader: batch_size and seq_len must be > 0 (got " +
                    std::to_string(o.batch_size) + ", " + std::to_string(o.seq_len) + ")");
  if (o.world_size <= 0 || o.rank < 0 || o.rank >= o.world_size)
    throw DataError("loader: rank " + std::to_string(o.rank) + " is not in [0, world_size " +
                    std::to_string(o.world_size) + ")");
  if (o.kind != "shards" && o.kind != "mqar")
    throw DataError("data.kind", "data.kind: '" + o.kind + "' is not a data kind; use shards or mqar");
}

bool is_mqar(const LoaderOptions& o) { return o.kind == "mqar"; }

// The generator's options as the loader uses them (its seq_len and vocabulary), checked, with
// the shard keys unset as data.kind mqar wants them.
MqarOptions mqar_of(const LoaderOptions& o) {
  const auto unused = [](const std::string& key, const std::string& what) {
    throw DataError(key, key + ": data.kind mqar generates its sequences; " + what);
  };
  if (!o.train_files.empty()) unused("data.train_files", "set it to []");
  if (!o.val_files.empty()) unused("data.val_files", "set it to []");
  if (o.val_tokens != 0) unused("data.val_tokens", "set it to 0 (use data.mqar.val_sequences)");
  MqarOptions m = o.mqar;
  m.seq_len = o.seq_len;
  m.vocab_size = o.vocab_size;
  check_mqar_options(m);
  return m;
}

}  // namespace

std::vector<std::string> expand_file_patterns(const std::vector<std::string>& patterns,
                                              const std::string& key) {
  std::vector<std::string> files;
  for (const auto& pattern : patterns) {
    glob_t g{};
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH) {
      ::globfree(&g);
      throw DataError(key + ": '" + pattern +
                      "' matches no file (relative paths start at the current directory; "
                      "run 'attnlab data prepare' to create shards)");
    }
    if (rc != 0) {
      ::globfree(&g);
      throw DataError(key + ": cannot expand '" + pattern + "' (read error or out of memory)");
    }
    for (size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
  }
  return files;
}

TokenLoader::TokenLoader(const LoaderOptions& options) : options_(options) {
  check_shape(options_);
  if (is_mqar(options_))
    open_mqar();
  else
    open_shards();
  start_epoch(0);
}

void TokenLoader::open_mqar() {
  options_.mqar = mqar_of(options_);
  n_windows_ = options_.mqar.train_sequences;
  batches_per_epoch_ = n_windows_ / (uint64_t(options_.batch_size) * options_.world_size);
  if (batches_per_epoch_ == 0)
    throw DataError("data.mqar.train_sequences",
                    "data.mqar.train_sequences = " + std::to_string(n_windows_) +
                        " make no batch of " + std::to_string(options_.batch_size) +
                        " sequences on each of " + std::to_string(options_.world_size) +
                        " rank(s); raise it or lower train.batch_size");
}

void TokenLoader::open_shards() {
  if (options_.train_files.empty())
    throw DataError("data.train_files is empty: list at least one llm.c shard (glob allowed)");
  stream_ = std::make_unique<TokenStream>(
      expand_file_patterns(options_.train_files, "data.train_files"), options_.vocab_size);
  const uint64_t T = options_.seq_len;
  const uint64_t rows_per_batch = uint64_t(options_.batch_size) * options_.world_size;
  train_begin_ = options_.val_files.empty() ? options_.val_tokens : 0;
  const uint64_t available = stream_->size() > train_begin_ ? stream_->size() - train_begin_ : 0;
  n_windows_ = available > T ? (available - 1) / T : 0;
  if (n_windows_ > kMaxWindows)
    throw DataError("data.train_files: " + stream_->describe() + " give " +
                    std::to_string(n_windows_) + " windows of " + std::to_string(T) +
                    " tokens, more than the " + std::to_string(kMaxWindows) +
                    " an epoch's order can hold; raise train.seq_len or list fewer shards");
  batches_per_epoch_ = n_windows_ / rows_per_batch;
  if (batches_per_epoch_ == 0) {
    // The hold-out is to blame when the tokens without it would make a batch.
    const uint64_t all_windows = stream_->size() > T ? (stream_->size() - 1) / T : 0;
    const bool held_out_too_much = train_begin_ > 0 && all_windows >= rows_per_batch;
    throw DataError(held_out_too_much ? "data.val_tokens" : "train.seq_len",
                    "data.train_files: " + stream_->describe() +
                    (train_begin_
                         ? " minus " + std::to_string(train_begin_) + " held out for validation"
                         : "") +
                    " leave " + std::to_string(available) + " tokens, too few for one batch of " +
                    std::to_string(options_.batch_size) + " x " + std::to_string(T + 1) +
                    " tokens on each of " + std::to_string(options_.world_size) +
                    " rank(s); add data, or lower batch_size, seq_len or val_tokens");
  }
}

TokenLoader::~TokenLoader() = default;

void TokenLoader::start_epoch(uint64_t epoch) {
  if (permutation_epoch_ == epoch) return;
  permutation_ = window_order(n_windows_, options_.order_seed, epoch);
  permutation_epoch_ = epoch;
}

void TokenLoader::read_window(uint64_t window, int32_t* tokens_T1, uint8_t* loss_mask_T) const {
  if (is_mqar(options_)) {
    mqar_row(options_.mqar, MqarSplit::Train, window, tokens_T1, loss_mask_T);
    return;
  }
  stream_->copy(train_begin_ + window * options_.seq_len, uint64_t(options_.seq_len) + 1, tokens_T1);
  if (loss_mask_T) std::fill(loss_mask_T, loss_mask_T + options_.seq_len, uint8_t{1});
}

void TokenLoader::next(int32_t* tokens_B_T1, uint8_t* loss_mask_B_T) {
  if (position_.index == batches_per_epoch_) {
    position_ = {position_.epoch + 1, 0};
    if (!warned_repeat_) {
      std::cerr << "attnlab data: warning: epoch " << position_.epoch
                << " begins: training now repeats data (" << train_tokens() << " train tokens, "
                << batches_per_epoch_ << " batches per epoch per rank)\n";
      warned_repeat_ = true;
    }
  }
  start_epoch(position_.epoch);
  const uint64_t B = options_.batch_size, T = options_.seq_len, W = options_.world_size;
  for (uint64_t b = 0; b < B; ++b) {
    const uint64_t window = permutation_[(position_.index * B + b) * W + options_.rank];
    read_window(window, tokens_B_T1 + b * (T + 1), loss_mask_B_T ? loss_mask_B_T + b * T : nullptr);
  }
  ++position_.index;
}

void TokenLoader::seek(const LoaderPosition& position) {
  if (position.index > batches_per_epoch_)
    throw DataError("loader position index " + std::to_string(position.index) +
                    " is past the end of an epoch (" + std::to_string(batches_per_epoch_) +
                    " batches per rank): the data, batch_size, seq_len or world_size changed "
                    "since the checkpoint");
  position_ = position;
  if (position_.epoch > 0) warned_repeat_ = true;  // the run already crossed an epoch
  start_epoch(position_.epoch);
}

uint64_t TokenLoader::tokens_seen() const {
  const uint64_t batches = position_.epoch * batches_per_epoch_ + position_.index;
  return batches * uint64_t(options_.batch_size) * options_.seq_len;
}

uint64_t TokenLoader::train_tokens() const {
  return stream_ ? stream_->size() - train_begin_ : n_windows_ * options_.seq_len;
}

ValidationSet::ValidationSet(const LoaderOptions& options) : options_(options) {
  check_shape(options_);
  if (is_mqar(options_))
    open_mqar();
  else
    open_shards();
}

void ValidationSet::open_mqar() {
  options_.mqar = mqar_of(options_);
  if (options_.mqar.val_sequences == 0) return;
  n_batches_ = options_.mqar.val_sequences / options_.batch_size / options_.world_size;
  if (n_batches_ == 0)
    throw DataError("data.mqar.val_sequences",
                    "data.mqar.val_sequences = " + std::to_string(options_.mqar.val_sequences) +
                        " gives no full validation batch of " +
                        std::to_string(options_.batch_size) + " sequences per rank; set it to "
                        "at least " + std::to_string(options_.batch_size * options_.world_size) +
                        " (or 0 for no validation)");
}

void ValidationSet::open_shards() {
  if (options_.train_files.empty())
    throw DataError("data.train_files is empty: list at least one llm.c shard (glob allowed)");
  if (options_.val_tokens == 0) return;
  const bool held_out = options_.val_files.empty();
  const std::string key = held_out ? "data.train_files" : "data.val_files";
  stream_ = std::make_unique<TokenStream>(
      expand_file_patterns(held_out ? options_.train_files : options_.val_files, key),
      options_.vocab_size);
  if (stream_->size() < options_.val_tokens)
    throw DataError("data.val_tokens",
                    "data.val_tokens = " + std::to_string(options_.val_tokens) + " exceeds the " +
                        stream_->describe() + " of " + key + "; lower data.val_tokens");
  const uint64_t T = options_.seq_len;
  const uint64_t windows = (options_.val_tokens - 1) / T;
  n_batches_ = windows / options_.batch_size / options_.world_size;
  if (n_batches_ == 0)
    throw DataError("data.val_tokens",
                    "data.val_tokens = " + std::to_string(options_.val_tokens) +
                    " gives no full validation batch of " + std::to_string(options_.batch_size) +
                    " x " + std::to_string(T + 1) + " tokens per rank; set it to at least " +
                    std::to_string(uint64_t(options_.batch_size) * options_.world_size * T + 1) +
                    " (or 0 for no validation)");
}

ValidationSet::~ValidationSet() = default;

void ValidationSet::batch(size_t i, int32_t* tokens_B_T1, uint8_t* loss_mask_B_T) const {
  if (i >= n_batches_)
    throw DataError("validation batch " + std::to_string(i) + " requested, only " +
                    std::to_string(n_batches_) + " exist");
  const uint64_t B = options_.batch_size, T = options_.seq_len;
  const uint64_t global_batch = uint64_t(i) * options_.world_size + options_.rank;
  for (uint64_t b = 0; b < B; ++b) {
    int32_t* row_T1 = tokens_B_T1 + b * (T + 1);
    uint8_t* mask_T = loss_mask_B_T ? loss_mask_B_T + b * T : nullptr;
    if (is_mqar(options_)) {
      mqar_row(options_.mqar, MqarSplit::Eval, global_batch * B + b, row_T1, mask_T);
      continue;
    }
    stream_->copy((global_batch * B + b) * T, T + 1, row_T1);
    if (mask_T) std::fill(mask_T, mask_T + T, uint8_t{1});
  }
}

}  // namespace attnlab::data
