// Pre-tokenization: splits valid UTF-8 text into pieces with a tokenizer's split regex, using
// PCRE2 in UTF mode with Unicode properties (\s, \p{L}, \p{N} as in the Rust/Python regex
// engines the reference tokenizers use) and the JIT. Text between matches, if any, becomes
// pieces too (Hugging Face's "Isolated" split behaviour).
#pragma once
#include <string>
#include <string_view>

struct pcre2_real_code_8;

namespace attnlab::data {

// GPT-2 (r50k_base, as tiktoken and the original encoder.py).
inline constexpr const char* kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Qwen2 / Qwen3 (the Split pre-tokenizer of their tokenizer.json).
inline constexpr const char* kQwenSplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

class SplitRegex {
 public:
  explicit SplitRegex(const std::string& pattern);  // DataError if it does not compile
  ~SplitRegex();
  SplitRegex(const SplitRegex&) = delete;
  SplitRegex& operator=(const SplitRegex&) = delete;

  const std::string& pattern() const { return pattern_; }

  // Calls emit(std::string_view piece) for each piece of `text` (valid UTF-8), in order;
  // the pieces concatenate to `text`. Thread-safe.
  template <typename Emit>
  void split(std::string_view text, Emit&& emit) const {
    size_t emitted = 0, search = 0, begin = 0, end = 0;
    while (search <= text.size() && find(text, search, begin, end)) {
      if (end == begin) {  // an empty match splits nothing: look further
        search = next_char(text, begin);
        continue;
      }
      if (begin > emitted) emit(text.substr(emitted, begin - emitted));
      emit(text.substr(begin, end - begin));
      emitted = search = end;
    }
    if (emitted < text.size()) emit(text.substr(emitted));
  }

 private:
  // The first match at or after `start`: [begin, end). False when there is none.
  bool find(std::string_view text, size_t start, size_t& begin, size_t& end) const;
  static size_t next_char(std::string_view text, size_t pos);  // text.size() + 1 at the end

  std::string pattern_;
  pcre2_real_code_8* code_ = nullptr;
};

}  // namespace attnlab::data
