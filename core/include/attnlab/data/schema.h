// The `data` section of an experiment config: which tokenizer, which shards, in which order,
// how much validation. The config library validates composed configs against it.
#pragma once
#include "attnlab/config/schema.h"

namespace attnlab::config {

SectionSchema data_schema();  // section path "data", owner "data"

}  // namespace attnlab::config
