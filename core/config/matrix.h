// Internal: sweeps and the experiment's `matrix:` block expanded into cells (the cartesian
// product, first swept key outermost), each a list of single-valued overrides.
#pragma once
#include <string>
#include <vector>

#include "config_tree.h"
#include "override_parser.h"

namespace attnlab::config {

struct Cell {
  std::vector<Override> overrides;  // single-valued, in the order they apply
  std::vector<std::string> texts;   // the same as override strings: "seed=1"
  std::string name;                 // "k1=v1,k2=v2" over the swept keys; "" if none
};

// The `matrix:` block of an experiment file (a map `key: [values]` or `key: "a,b,c"`, keys in
// file order) as sweep overrides. Throws ConfigError at the offending entry.
std::vector<Override> parse_matrix_block(const ConfigTree& experiment);

// Matrix entries first, then the command line in order; a command-line override of a key the
// matrix sweeps replaces that matrix entry. A key given twice within the matrix block or
// within the command line (seed=1 seed=2, ~a +a=1) is a ConfigError at the second.
std::vector<Cell> expand_cells(const std::vector<Override>& matrix,
                               const std::vector<Override>& command_line);

}  // namespace attnlab::config
