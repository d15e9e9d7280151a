// Report output files (see write_file.h).
#include "write_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "attnlab/reports/experiment_data.h"

namespace attnlab::reports {

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    throw ReportError("cannot create directory " + path.parent_path().string() + ": " +
                      ec.message() + " (pass a writable --out DIR)");
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) {
    throw ReportError("cannot write " + path.string() + ": " + std::strerror(errno) +
                      " (pass a writable --out DIR)");
  }
}

}  // namespace attnlab::reports
