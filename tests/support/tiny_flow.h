// The smallest flow network the tests use: 8 channels over two levels, one block a level, an
// embedding of 16 (a trained model has the same structure, wider).
#pragma once

#include "srkit/nn/flow_unet.h"

namespace srkit::testing {

inline FlowUNetOptions tiny_flow_options() {
  FlowUNetOptions options;
  options.channels = 8;
  options.multipliers = {1, 2};
  options.blocks = 1;
  options.embedding = 16;
  return options;
}

}  // namespace srkit::testing
