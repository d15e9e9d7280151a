// The one-line message of an exception caught by the run driver: c10::Error's what() carries a
// C++ backtrace, so users get its message alone.
#pragma once
#include <c10/util/Exception.h>

#include <exception>
#include <string>

namespace attnlab::run {

inline std::string error_message(const std::exception& e) {
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

}  // namespace attnlab::run
