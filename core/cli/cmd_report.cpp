// attnlab report: placeholder while the command is being built (replaced before landing).
#include <stdexcept>

#include "commands.h"

namespace attnlab::cli {

int cmd_report(const Args&) { throw std::runtime_error("'report' is not built yet"); }

}  // namespace attnlab::cli
