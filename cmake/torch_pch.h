// The precompiled header every LibTorch translation unit reuses (see AttnlabTargets.cmake).
#pragma once
#include <torch/torch.h>
