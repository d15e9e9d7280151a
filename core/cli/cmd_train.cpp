// attnlab train: placeholder while the command is being built (replaced before landing).
#include <stdexcept>

#include "commands.h"

namespace attnlab::cli {

int cmd_train(const Args&) { throw std::runtime_error("'train' is not built yet"); }

}  // namespace attnlab::cli
