// attnlab data: placeholder while the command is being built (replaced before landing).
#include <stdexcept>

#include "commands.h"

namespace attnlab::cli {

int cmd_data(const Args&) { throw std::runtime_error("'data' is not built yet"); }

}  // namespace attnlab::cli
