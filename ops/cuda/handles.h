// Library handles of the CUDA backend: cuBLAS, cuBLASLt and cuDNN, one of each per device,
// created on first use and bound to the device's stream (engine/cuda/context.h), and the checks
// that turn a library status into a wsol::Error naming the call, file, line and status.
//
// They live in ops/ rather than engine/ because only the ops library links cuBLAS and cuDNN; the
// engine needs nothing but the CUDA runtime. Handles are meant for one thread at a time (the
// thread that runs the model), as everything on a wsol stream is.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cudnn.h>

#include "engine/cuda/check.h"

#define WSOL_CUBLAS_CHECK(call)                                                                         \
    do {                                                                                                \
        cublasStatus_t wsol_cublas_status_ = (call);                                                    \
        if (wsol_cublas_status_ != CUBLAS_STATUS_SUCCESS) [[unlikely]] {                                \
            WSOL_FAIL("cuBLAS error '", cublasGetStatusString(wsol_cublas_status_), "' in ", #call, " at ", \
                      __FILE__, ":", __LINE__);                                                         \
        }                                                                                               \
    } while (0)

#define WSOL_CUDNN_CHECK(call)                                                                          \
    do {                                                                                                \
        cudnnStatus_t wsol_cudnn_status_ = (call);                                                      \
        if (wsol_cudnn_status_ != CUDNN_STATUS_SUCCESS) [[unlikely]] {                                  \
            WSOL_FAIL("cuDNN error '", cudnnGetErrorString(wsol_cudnn_status_), "' in ", #call, " at ",  \
                      __FILE__, ":", __LINE__);                                                         \
        }                                                                                               \
    } while (0)

namespace wsol::cuda {

// Each bound to current_stream(device) (re-bound if that ever changes) and with `device` current.
cublasHandle_t cublas_handle(int device);
cublasLtHandle_t cublaslt_handle(int device);
cudnnHandle_t cudnn_handle(int device);

}  // namespace wsol::cuda
