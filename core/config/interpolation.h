// Internal: resolves interpolations in a composed tree, after merging and overrides:
//   ${a.b}            the value at a.b (typed when it is the whole string)
//   ${.x} ${..x}      relative to the key holding it (OmegaConf: '.' is the containing map)
//   ${env:VAR,dflt}   an environment variable (typed like a plain YAML scalar), or dflt
//   "run_${seed}"     string interpolation;  \${ is a literal "${"
// Interpolations may nest (${a.${b}}) and refer to values that interpolate themselves.
#pragma once
#include "config_tree.h"

namespace attnlab::config {

// Throws ConfigError (the key holding the interpolation and its origin) for missing targets,
// cycles, unknown resolvers, unset environment variables without default, bad syntax.
void resolve_interpolations(ConfigTree& cfg);

}  // namespace attnlab::config
