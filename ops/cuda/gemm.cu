// cuBLASLt GEMM (ops/cuda/gemm.h).
//
// cuBLASLt is column-major. A row-major (M, N) matrix with row stride ld is, byte for byte, a
// column-major (N, M) matrix with leading dimension ld, so the row-major product
//   C = op(A) op(B)            (M x N)
// is computed as the column-major product
//   C^T = op(B)^T op(A)^T      (N x M)
// i.e. cuBLASLt's "A" is our B and its "B" is our A, with the same transpose flags.
#include "ops/cuda/gemm.h"

#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>

#include "engine/cuda/context.h"
#include "ops/autocast.h"
#include "ops/cuda/elementwise.h"
#include "ops/cuda/handles.h"

namespace wsol::cuda {

namespace {

constexpr size_t kWorkspaceBytes = size_t(32) << 20;

// One operand as a batch of row-major matrices.
struct Matrix {
    int64_t rows = 0, cols = 0;
    int64_t ld = 0;            // elements between rows
    int64_t batch_stride = 0;  // elements between matrices (0: shared by the batch)
};

cudaDataType_t cuda_type(DType dtype) {
    switch (dtype) {
        case kFloat32: return CUDA_R_32F;
        case kFloat64: return CUDA_R_64F;
        case kBFloat16: return CUDA_R_16BF;
        case kFloat16: return CUDA_R_16F;
        default: WSOL_FAIL("gemm on CUDA: dtype ", dtype_name(dtype), " is not a matrix dtype");
    }
}

std::string strides_str(const Tensor& t) {
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < t.strides().size(); ++i) out << (i ? "," : "") << t.strides()[i];
    out << "]";
    return out.str();
}

std::string describe(const Tensor& c, const Tensor& a, const Tensor& b, const GemmOptions& o) {
    std::ostringstream out;
    out << "gemm on CUDA: C " << shape_str(c.shape()) << " = " << (o.transpose_a ? "A^T" : "A") << " "
        << (o.transpose_b ? "B^T" : "B") << " with A " << shape_str(a.shape()) << " strides " << strides_str(a) << ", B "
        << shape_str(b.shape()) << " strides " << strides_str(b) << ", C strides " << strides_str(c) << ", "
        << dtype_name(a.dtype()) << " x " << dtype_name(b.dtype()) << " -> " << dtype_name(c.dtype()) << ", epilogue "
        << gemm_epilogue_name(o.epilogue);
    return out.str();
}

// The batch stride of `t` for a batch of shape `batch` (C's leading axes): 0 when t has no batch
// axes (or only broadcast ones); otherwise the batch axes must merge into one uniform stride.
int64_t batch_stride(const Tensor& t, const Shape& batch, const std::string& what, bool writable) {
    const int64_t nb = t.dim() - 2;
    if (nb == 0) {
        WSOL_CHECK(!writable || shape_numel(batch) == 1, what, ": the output needs the batch axes");
        return 0;
    }
    WSOL_CHECK(Shape(t.shape().begin(), t.shape().end() - 2) == batch, what,
               ": batch axes of every operand must equal C's, or be absent");
    int64_t stride = 0, expected = -1;
    bool broadcast = true;
    for (int64_t d = nb - 1; d >= 0; --d) {
        const int64_t size = t.shape()[size_t(d)], s = t.strides()[size_t(d)];
        if (size == 1) continue;
        if (expected < 0) {
            stride = s;
            broadcast = s == 0;
        } else {
            WSOL_CHECK(s == expected, what, ": batch axes do not merge into one stride (make the operand contiguous)");
        }
        expected = s * size;
    }
    WSOL_CHECK(!(writable && broadcast && shape_numel(batch) > 1), what, ": the output cannot be a broadcast view");
    return broadcast ? 0 : stride;
}

Matrix matrix_of(const Tensor& t, const Shape& batch, const std::string& what, bool writable) {
    WSOL_CHECK(t.dim() >= 2, what, ": every operand needs at least 2 dimensions");
    Matrix m;
    m.rows = t.size(-2);
    m.cols = t.size(-1);
    WSOL_CHECK(t.stride(-1) == 1 || m.cols == 1, what, ": the last axis of every operand must have stride 1");
    m.ld = m.rows > 1 ? t.stride(-2) : std::max<int64_t>(m.cols, 1);
    WSOL_CHECK(m.ld >= std::max<int64_t>(m.cols, 1), what, ": rows overlap (row stride below the row length)");
    m.batch_stride = batch_stride(t, batch, what, writable);
    return m;
}

// Largest power of two (up to 256) dividing the address: what cuBLASLt may assume.
uint32_t alignment_of(const void* ptr) {
    uint32_t a = 256;
    while (a > 1 && reinterpret_cast<uintptr_t>(ptr) % a != 0) a /= 2;
    return a;
}

cublasLtEpilogue_t lt_epilogue(GemmEpilogue e) {
    switch (e) {
        case GemmEpilogue::None: return CUBLASLT_EPILOGUE_DEFAULT;
        case GemmEpilogue::Bias: return CUBLASLT_EPILOGUE_BIAS;
        case GemmEpilogue::BiasGelu: return CUBLASLT_EPILOGUE_GELU_BIAS;
        case GemmEpilogue::BiasGeluAux: return CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
        case GemmEpilogue::DGelu: return CUBLASLT_EPILOGUE_DGELU;
        case GemmEpilogue::DGeluBiasGrad: return CUBLASLT_EPILOGUE_DGELU_BGRAD;
        case GemmEpilogue::BiasGradA: return CUBLASLT_EPILOGUE_BGRADB;  // our A is cuBLASLt's B
        case GemmEpilogue::BiasGradB: return CUBLASLT_EPILOGUE_BGRADA;
    }
    return CUBLASLT_EPILOGUE_DEFAULT;
}

bool uses_bias(GemmEpilogue e) { return e != GemmEpilogue::None && e != GemmEpilogue::DGelu; }
bool uses_aux(GemmEpilogue e) {
    return e == GemmEpilogue::BiasGeluAux || e == GemmEpilogue::DGelu || e == GemmEpilogue::DGeluBiasGrad;
}

// Descriptors and the chosen algorithm of one request; only the pointers change between calls.
struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t layout_a = nullptr, layout_b = nullptr, layout_c = nullptr;  // cuBLASLt's roles
    cublasLtMatmulAlgo_t algo{};
    size_t workspace = 0;
    bool double_scale = false;  // alpha/beta are double (float64 compute) rather than float
    bool available = true;      // false: cuBLASLt has no algorithm for this request (remembered too)
};

std::mutex g_mutex;
std::unordered_map<std::string, Plan>& plans() {
    static auto* map = new std::unordered_map<std::string, Plan>();  // never destroyed (see handles.cpp)
    return *map;
}

cublasLtMatrixLayout_t make_layout(cudaDataType_t type, uint64_t rows, uint64_t cols, int64_t ld, int32_t batch,
                                   int64_t batch_stride) {
    cublasLtMatrixLayout_t layout = nullptr;
    WSOL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, type, rows, cols, ld));
    if (batch > 1) {
        WSOL_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)));
        WSOL_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                           &batch_stride, sizeof(batch_stride)));
    }
    return layout;
}

}  // namespace

const char* gemm_epilogue_name(GemmEpilogue epilogue) {
    switch (epilogue) {
        case GemmEpilogue::None: return "none";
        case GemmEpilogue::Bias: return "bias";
        case GemmEpilogue::BiasGelu: return "bias+gelu";
        case GemmEpilogue::BiasGeluAux: return "bias+gelu (storing the pre-activation)";
        case GemmEpilogue::DGelu: return "dgelu";
        case GemmEpilogue::DGeluBiasGrad: return "dgelu+bias gradient";
        case GemmEpilogue::BiasGradA: return "bias gradient of A";
        case GemmEpilogue::BiasGradB: return "bias gradient of B";
    }
    return "?";
}

size_t gemm_plan_cache_size() {
    std::lock_guard<std::mutex> lock(g_mutex);
    return plans().size();
}

namespace {

// gemm and try_gemm: the request's plan (cached per shape, strides, dtypes, epilogue and
// alignment), then the cublasLtMatmul call. Returns false only when cuBLASLt offers no algorithm
// and the caller said it has an alternative (required = false); every other failure throws.
bool run_gemm(const Tensor& c, const Tensor& a, const Tensor& b, const GemmOptions& o, bool required) {
    WSOL_CHECK(a.defined() && b.defined() && c.defined(), "gemm on CUDA: undefined operand");
    const std::string what = describe(c, a, b, o);
    WSOL_CHECK(a.is_cuda() && a.device() == b.device() && a.device() == c.device(), what, ": operands on ",
               a.device().str(), ", ", b.device().str(), ", ", c.device().str(), " (all must be on one CUDA device)");
    WSOL_CHECK(a.dtype() == b.dtype(), what, ": A and B must have the same dtype");
    const bool ok_types = (a.dtype() == kFloat32 && c.dtype() == kFloat32) ||
                          (a.dtype() == kFloat64 && c.dtype() == kFloat64) ||
                          (a.dtype() == kBFloat16 && (c.dtype() == kBFloat16 || c.dtype() == kFloat32));
    WSOL_CHECK(ok_types, what, ": unsupported dtypes (float32 x float32 -> float32, bfloat16 x bfloat16 -> bfloat16 or "
               "float32, float64 x float64 -> float64)");
    WSOL_CHECK(c.dim() >= 2, what, ": C needs at least 2 dimensions");
    const Shape batch(c.shape().begin(), c.shape().end() - 2);
    const int64_t batch_count = shape_numel(batch);
    const Matrix ma = matrix_of(a, batch, what, false), mb = matrix_of(b, batch, what, false),
                 mc = matrix_of(c, batch, what, true);
    const int64_t M = o.transpose_a ? ma.cols : ma.rows, K = o.transpose_a ? ma.rows : ma.cols;
    const int64_t Kb = o.transpose_b ? mb.cols : mb.rows, N = o.transpose_b ? mb.rows : mb.cols;
    WSOL_CHECK(K == Kb, what, ": inner dimensions ", K, " and ", Kb, " differ");
    WSOL_CHECK(mc.rows == M && mc.cols == N, what, ": C must be (", M, ", ", N, ")");
    WSOL_CHECK(batch_count < INT32_MAX, what, ": batch too large");

    // Epilogue operands.
    const GemmEpilogue e = o.epilogue;
    if (e != GemmEpilogue::None) {
        WSOL_CHECK(batch_count == 1, what, ": epilogues need a batch of one matrix");
        WSOL_CHECK(M > 0 && N > 0 && K > 0, what, ": epilogues need non-empty matrices");
    }
    if (uses_bias(e)) {
        const int64_t length = e == GemmEpilogue::BiasGradA ? M : N;
        WSOL_CHECK(o.bias.defined() && o.bias.device() == c.device() && o.bias.dim() == 1 && o.bias.size(0) == length &&
                       o.bias.is_contiguous(),
                   what, ": the bias must be a contiguous (", length, ") tensor on ", c.device().str());
        WSOL_CHECK(o.bias.dtype() == c.dtype() || o.bias.dtype() == kFloat32, what, ": bias dtype ",
                   dtype_name(o.bias.dtype()), " must be C's or float32");
    }
    if (uses_aux(e)) {
        WSOL_CHECK(o.aux.defined() && o.aux.device() == c.device() && o.aux.shape() == Shape({M, N}) &&
                       o.aux.is_contiguous() && o.aux.dtype() == c.dtype(),
                   what, ": aux must be a contiguous (", M, ", ", N, ") ", dtype_name(c.dtype()), " tensor on ",
                   c.device().str());
    }

    if (c.numel() == 0) return true;
    if (K == 0) {  // an empty sum: C = beta C
        if (o.beta == 0.0) {
            fill(c, 0.0);
        } else {
            binary_scalar(BinaryOp::Mul, c, c, o.beta, false);
        }
        return true;
    }

    const int device = c.device().index;
    const bool tf32 = a.dtype() == kFloat32 && allow_tf32();
    const cublasComputeType_t compute = a.dtype() == kFloat64 ? CUBLAS_COMPUTE_64F
                                        : tf32                ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                              : CUBLAS_COMPUTE_32F;
    const uint32_t align_a = alignment_of(a.raw_data()), align_b = alignment_of(b.raw_data()),
                   align_c = alignment_of(c.raw_data());

    std::ostringstream key;
    key << device << '|' << int(a.dtype()) << int(c.dtype()) << '|' << o.transpose_a << o.transpose_b << '|' << M << ','
        << N << ',' << K << '|' << ma.ld << ',' << mb.ld << ',' << mc.ld << '|' << batch_count << ',' << ma.batch_stride
        << ',' << mb.batch_stride << ',' << mc.batch_stride << '|' << int(e) << '|'
        << (uses_bias(e) ? int(o.bias.dtype()) : -1) << '|' << tf32 << '|' << align_a << ',' << align_b << ',' << align_c;

    cublasLtHandle_t handle = cublaslt_handle(device);
    std::lock_guard<std::mutex> lock(g_mutex);
    auto found = plans().find(key.str());
    if (found == plans().end()) {
        Plan plan;
        plan.double_scale = compute == CUBLAS_COMPUTE_64F;
        WSOL_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.desc, compute, plan.double_scale ? CUDA_R_64F : CUDA_R_32F));
        const cublasOperation_t op_lt_a = o.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;  // cuBLASLt's A is our B
        const cublasOperation_t op_lt_b = o.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
        WSOL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_lt_a, sizeof(op_lt_a)));
        WSOL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_lt_b, sizeof(op_lt_b)));
        const cublasLtEpilogue_t epilogue = lt_epilogue(e);
        WSOL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                         sizeof(epilogue)));
        if (uses_bias(e)) {
            const int32_t bias_type = cuda_type(o.bias.dtype());
            WSOL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type,
                                                             sizeof(bias_type)));
        }
        if (uses_aux(e)) {
            const int64_t aux_ld = N;  // row-major (M, N) = column-major (N, M) with leading dimension N
            WSOL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &aux_ld,
                                                             sizeof(aux_ld)));
        }
        const cudaDataType_t ab_type = cuda_type(a.dtype()), c_type = cuda_type(c.dtype());
        const int32_t batch32 = int32_t(batch_count);
        // Column-major shapes of the stored matrices: our row-major (rows, cols) is their (cols, rows).
        plan.layout_a = make_layout(ab_type, uint64_t(mb.cols), uint64_t(mb.rows), mb.ld, batch32, mb.batch_stride);
        plan.layout_b = make_layout(ab_type, uint64_t(ma.cols), uint64_t(ma.rows), ma.ld, batch32, ma.batch_stride);
        plan.layout_c = make_layout(c_type, uint64_t(N), uint64_t(M), mc.ld, batch32, mc.batch_stride);

        cublasLtMatmulPreference_t preference = nullptr;
        WSOL_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
        const uint64_t max_workspace = kWorkspaceBytes;
        WSOL_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                               &max_workspace, sizeof(max_workspace)));
        WSOL_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                                               &align_b, sizeof(align_b)));
        WSOL_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                                               &align_a, sizeof(align_a)));
        WSOL_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                                               &align_c, sizeof(align_c)));
        WSOL_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                                               &align_c, sizeof(align_c)));
        cublasLtMatmulHeuristicResult_t result{};
        int returned = 0;
        const cublasStatus_t status =
            cublasLtMatmulAlgoGetHeuristic(handle, plan.desc, plan.layout_a, plan.layout_b, plan.layout_c, plan.layout_c,
                                           preference, 1, &result, &returned);
        cublasLtMatmulPreferenceDestroy(preference);
        if (status != CUBLAS_STATUS_SUCCESS || returned == 0) {
            cublasLtMatmulDescDestroy(plan.desc);
            cublasLtMatrixLayoutDestroy(plan.layout_a);
            cublasLtMatrixLayoutDestroy(plan.layout_b);
            cublasLtMatrixLayoutDestroy(plan.layout_c);
            // Remembered, so that a caller with an alternative (try_gemm) does not ask again.
            plan = Plan{};
            plan.available = false;
        } else {
            plan.algo = result.algo;
            plan.workspace = result.workspaceSize;
        }
        found = plans().emplace(key.str(), plan).first;
    }
    const Plan& plan = found->second;
    if (!plan.available) {
        if (!required) return false;
        WSOL_FAIL(what, ": cuBLASLt has no algorithm for this request", tf32 ? " [TF32]" : "");
    }
    if (uses_bias(e)) {
        const void* bias = o.bias.raw_data();
        WSOL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    }
    if (uses_aux(e)) {
        const void* aux = o.aux.raw_data();
        WSOL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux,
                                                         sizeof(aux)));
    }
    Tensor workspace;
    if (plan.workspace > 0) workspace = Tensor::empty({int64_t(plan.workspace)}, kUInt8, c.device());
    const float alpha_f = float(o.alpha), beta_f = float(o.beta);
    const double alpha_d = o.alpha, beta_d = o.beta;
    const void* alpha = plan.double_scale ? static_cast<const void*>(&alpha_d) : static_cast<const void*>(&alpha_f);
    const void* beta = plan.double_scale ? static_cast<const void*>(&beta_d) : static_cast<const void*>(&beta_f);
    const cublasStatus_t status =
        cublasLtMatmul(handle, plan.desc, alpha, b.raw_data(), plan.layout_a, a.raw_data(), plan.layout_b, beta,
                       c.raw_data(), plan.layout_c, c.raw_data(), plan.layout_c, &plan.algo,
                       workspace.defined() ? workspace.raw_data() : nullptr, plan.workspace, current_stream(device));
    WSOL_CHECK(status == CUBLAS_STATUS_SUCCESS, what, ": cublasLtMatmul failed (", cublasGetStatusString(status), ")");
    c.storage()->bump_version();
    if (uses_bias(e) && e != GemmEpilogue::Bias && e != GemmEpilogue::BiasGelu && e != GemmEpilogue::BiasGeluAux) {
        o.bias.storage()->bump_version();
    }
    if (e == GemmEpilogue::BiasGeluAux) o.aux.storage()->bump_version();
    return true;
}

}  // namespace

void gemm(const Tensor& c, const Tensor& a, const Tensor& b, const GemmOptions& o) { run_gemm(c, a, b, o, true); }

bool try_gemm(const Tensor& c, const Tensor& a, const Tensor& b, const GemmOptions& o) {
    return run_gemm(c, a, b, o, false);
}

}  // namespace wsol::cuda
