// attnlab run: placeholder while the command is being built (replaced before landing).
#include <stdexcept>

#include "commands.h"

namespace attnlab::cli {

int cmd_run(const Args&) { throw std::runtime_error("'run' is not built yet"); }

}  // namespace attnlab::cli
