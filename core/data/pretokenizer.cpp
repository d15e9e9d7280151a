// PCRE2 compilation (UTF, UCP, JIT) and matching of split regexes; see pretokenizer.h.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pretokenizer.h"

#include <pcre2.h>

#include "attnlab/data/error.h"

namespace attnlab::data {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof(buf));
  return reinterpret_cast<const char*>(buf);
}

// Per-thread match state: match data for one pair of offsets and a JIT stack large enough for
// long whitespace runs under the (?!\S) lookahead.
struct ThreadMatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(64 * 1024, 16 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  ThreadMatchState() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~ThreadMatchState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
};

}  // namespace

SplitRegex::SplitRegex(const std::string& pattern) : pattern_(pattern) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                        PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &offset, nullptr);
  if (!code_)
    throw DataError("split regex '" + pattern + "' does not compile at offset " +
                    std::to_string(offset) + ": " + pcre2_message(err));
  const int jit = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);
  if (jit != 0) {
    pcre2_code_free(code_);
    throw DataError("split regex '" + pattern + "': PCRE2 JIT unavailable: " + pcre2_message(jit));
  }
}

SplitRegex::~SplitRegex() { pcre2_code_free(code_); }

bool SplitRegex::find(std::string_view text, size_t start, size_t& begin, size_t& end) const {
  thread_local ThreadMatchState state;
  const int rc = pcre2_jit_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                                 start, 0, state.data, state.context);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0)
    throw DataError("pre-tokenizer regex failed on a " + std::to_string(text.size()) +
                    "-byte text: " + pcre2_message(rc));
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(state.data);
  begin = ov[0];
  end = ov[1];
  return true;
}

size_t SplitRegex::next_char(std::string_view text, size_t pos) {
  if (pos >= text.size()) return text.size() + 1;
  ++pos;
  while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
  return pos;
}

}  // namespace attnlab::data
