// The one exception type of the data pipeline: every bad input (shard, tokenizer file, JSONL
// line, loader option) is a DataError whose what() is one line naming the file, key or value
// and what to do about it.
#pragma once
#include <stdexcept>

namespace attnlab::data {

class DataError : public std::runtime_error {
  using runtime_error::runtime_error;
};

}  // namespace attnlab::data
