// Internal: "did you mean" suggestions for misspelt keys, options and choices.
#pragma once
#include <string>
#include <vector>

namespace attnlab::config {

// The candidate closest to `word` by edit distance (transpositions count 1) when it is close
// enough to be a likely typo, else "".
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" when there is a close match, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// "a, b, c" (sorted as given).
std::string join_list(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace attnlab::config
