// attnlab config: placeholder while the command is being built (replaced before landing).
#include <stdexcept>

#include "commands.h"

namespace attnlab::cli {

int cmd_config(const Args&) { throw std::runtime_error("'config' is not built yet"); }

}  // namespace attnlab::cli
