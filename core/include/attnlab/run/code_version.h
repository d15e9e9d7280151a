// The version of the code a binary was built from (git describe; "-dirty" for local changes),
// stored with every run so results can be traced to their code.
#pragma once

namespace attnlab {
const char* code_version();
}
