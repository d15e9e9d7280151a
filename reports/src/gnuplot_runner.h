// Finding and running gnuplot for the report's figures (internal).
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace attnlab::reports {

// `program` as given when it contains a '/', else searched on PATH (entries that are missing,
// not directories or unreadable are skipped); nullopt when absent or not executable.
std::optional<std::filesystem::path> find_program(const std::string& program);

// Runs `gnuplot script` inside `dir` (so the script's relative paths work there and when a
// user reruns it); stderr goes to <script>.log. Returns "" on success, else the problem in
// one line (exit status and the first line of the log).
std::string run_gnuplot(const std::filesystem::path& gnuplot, const std::filesystem::path& dir,
                        const std::string& script);

}  // namespace attnlab::reports
