// Checks for CUDA runtime calls: a failure becomes a wsol::Error naming the call, file and line.
#pragma once

#include <cuda_runtime.h>

#include "engine/error.h"

#define WSOL_CUDA_CHECK(call)                                                                           \
    do {                                                                                                \
        cudaError_t wsol_cuda_status_ = (call);                                                         \
        if (wsol_cuda_status_ != cudaSuccess) [[unlikely]] {                                            \
            WSOL_FAIL("CUDA error '", cudaGetErrorString(wsol_cuda_status_), "' in ", #call, " at ", __FILE__, \
                      ":", __LINE__);                                                                   \
        }                                                                                               \
    } while (0)

// After a kernel launch: reports launch-configuration errors at the launch site.
#define WSOL_CUDA_CHECK_LAUNCH() WSOL_CUDA_CHECK(cudaGetLastError())
