// Conformance reference of plugin `dense`: causal softmax attention over every earlier key.
#include "../plugin_reference.h"

namespace attnlab::test {
namespace {

ReferenceOutput dense(const ReferenceInput& in) { return windowed_attention(in, -1); }

}  // namespace

ATTNLAB_PLUGIN_REFERENCE("dense", PluginReference{dense});

}  // namespace attnlab::test
