// Writing one output file of the report, with an error naming the path when it fails (internal).
#pragma once
#include <filesystem>
#include <string>

namespace attnlab::reports {

// Creates parent directories; throws ReportError "cannot write <path>: <reason> (...)".
void write_file(const std::filesystem::path& path, const std::string& content);

}  // namespace attnlab::reports
