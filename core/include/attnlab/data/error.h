// The one exception type of the data pipeline: every bad input (shard, tokenizer file, JSONL
// line, loader option) is a DataError whose what() is one line naming the file, key or value
// and what to do about it.
#pragma once
#include <stdexcept>
#include <string>

namespace attnlab::data {

class DataError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
  // `key`: the config key to change ("data.val_tokens", "train.seq_len"), when one is to blame.
  DataError(std::string key, const std::string& message)
      : runtime_error(message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

}  // namespace attnlab::data
