// attnlab plugins: placeholder while the command is being built (replaced before landing).
#include <stdexcept>

#include "commands.h"

namespace attnlab::cli {

int cmd_plugins(const Args&) { throw std::runtime_error("'plugins' is not built yet"); }

}  // namespace attnlab::cli
