// The store keeps JSON as text; this rejects malformed JSON when it is written, so a report
// never trips over it later.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "attnlab/store/store.h"

namespace attnlab::store::detail {

inline void require_json(const std::string& db_path, const std::string& what,
                         const std::string& text) {
  if (!nlohmann::json::accept(text)) {
    std::string shown = text.size() > 60 ? text.substr(0, 60) + "..." : text;
    throw StoreError(db_path + ": " + what + " is not valid JSON: '" + shown +
                     "' (serialise it with nlohmann::json::dump())");
  }
}

}  // namespace attnlab::store::detail
