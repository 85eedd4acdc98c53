// cuDNN convolution and batch normalisation (ops/cuda/cudnn.h), through cuDNN's documented
// descriptor API (cudnnConvolutionForward and friends, cudnnBatchNormalization*).
#include "ops/cuda/cudnn.h"

#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>

#include "engine/cuda/context.h"
#include "ops/autocast.h"
#include "ops/cuda/handles.h"

namespace wsol::cuda {

namespace {

constexpr size_t kMaxWorkspace = size_t(1) << 30;

// ---- descriptors (created per call: cheap host-side objects) ----------------------------------

struct TensorDesc {
    cudnnTensorDescriptor_t d = nullptr;
    TensorDesc() { WSOL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d)); }
    ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
    TensorDesc(const TensorDesc&) = delete;
    TensorDesc& operator=(const TensorDesc&) = delete;
};
struct FilterDesc {
    cudnnFilterDescriptor_t d = nullptr;
    FilterDesc() { WSOL_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d)); }
    ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
    FilterDesc(const FilterDesc&) = delete;
    FilterDesc& operator=(const FilterDesc&) = delete;
};
struct ConvDesc {
    cudnnConvolutionDescriptor_t d = nullptr;
    ConvDesc() { WSOL_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d)); }
    ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
    ConvDesc(const ConvDesc&) = delete;
    ConvDesc& operator=(const ConvDesc&) = delete;
};

cudnnDataType_t cudnn_type(DType dtype, const char* op) {
    switch (dtype) {
        case kFloat32: return CUDNN_DATA_FLOAT;
        case kFloat64: return CUDNN_DATA_DOUBLE;
        case kBFloat16: return CUDNN_DATA_BFLOAT16;
        case kFloat16: return CUDNN_DATA_HALF;
        default: WSOL_FAIL(op, " on CUDA: dtype ", dtype_name(dtype), " is not supported by cuDNN");
    }
}

// A 4-D (or (N, C) as (N, C, 1, 1)) tensor with its strides. Size-1 axes get a canonical stride;
// broadcast axes (stride 0, size > 1) are refused.
void set_tensor(TensorDesc& desc, const Tensor& t, const char* op) {
    WSOL_CHECK(t.dim() == 4 || t.dim() == 2, op, ": expected an (N, C, H, W) or (N, C) tensor, got ", shape_str(t.shape()));
    int dims[4] = {1, 1, 1, 1}, strides[4] = {1, 1, 1, 1};
    for (int64_t d = 0; d < t.dim(); ++d) {
        WSOL_CHECK(t.size(d) < INT32_MAX && std::abs(t.stride(d)) < INT32_MAX, op, ": tensor ", shape_str(t.shape()),
                   " too large for cuDNN");
        dims[d] = int(t.size(d));
        strides[d] = int(t.stride(d));
        WSOL_CHECK(dims[d] == 1 || strides[d] > 0, op, ": tensor ", shape_str(t.shape()),
                   " is a broadcast view (stride 0); make it contiguous first");
    }
    for (int d = 3; d >= 0; --d) {
        if (dims[d] == 1) strides[d] = d == 3 ? 1 : strides[d + 1] * dims[d + 1];
    }
    WSOL_CUDNN_CHECK(cudnnSetTensorNdDescriptor(desc.d, cudnn_type(t.dtype(), op), 4, dims, strides));
}

std::string key_of(const Tensor& t) {
    std::ostringstream out;
    out << shape_str(t.shape()) << '[';
    for (int64_t s : t.strides()) out << s << ',';
    out << ']' << int(t.dtype());
    return out.str();
}

// ---- convolution ------------------------------------------------------------------------------

enum class Pass { Forward, BackwardData, BackwardFilter };

struct Choice {
    int algo = 0;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
    size_t workspace = 0;
};

std::mutex g_mutex;
std::unordered_map<std::string, Choice>& choices() {
    static auto* map = new std::unordered_map<std::string, Choice>();  // never destroyed
    return *map;
}

cudnnMathType_t wanted_math(DType dtype) {
    if (dtype == kFloat32) return allow_tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    if (dtype == kBFloat16 || dtype == kFloat16) return CUDNN_TENSOR_OP_MATH;
    return CUDNN_DEFAULT_MATH;
}

// The first (fastest predicted) result that works, fits the workspace limit and is deterministic
// (some backward algorithms add partial results with atomics, so their gradients change from run
// to run in the last bits; a deterministic one is taken when cuDNN proposes any, which it does for
// the common shapes, as with torch.backends.cudnn.deterministic). For exact float32 (FMA math
// wanted) results that need tensor cores are skipped; one reported with the default math type is
// run with FMA math forced, because on Ampere and later the default permits TF32.
template <class Perf>
Choice pick(const Perf* perf, int returned, cudnnMathType_t wanted, const std::string& what) {
    for (bool deterministic_only : {true, false}) {
        for (int i = 0; i < returned; ++i) {
            if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspace) continue;
            if (deterministic_only && perf[i].determinism != CUDNN_DETERMINISTIC) continue;
            if (wanted == CUDNN_FMA_MATH) {
                if (perf[i].mathType != CUDNN_FMA_MATH && perf[i].mathType != CUDNN_DEFAULT_MATH) continue;
                return Choice{int(perf[i].algo), CUDNN_FMA_MATH, perf[i].memory};
            }
            return Choice{int(perf[i].algo), perf[i].mathType, perf[i].memory};
        }
    }
    WSOL_FAIL(what, ": cuDNN proposes no usable algorithm", wanted == CUDNN_FMA_MATH ? " without TF32" : "");
}

struct ConvSetup {
    TensorDesc x, y;
    FilterDesc w;
    ConvDesc conv;
};

std::string conv_what(const char* pass, const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dGeometry& g) {
    std::ostringstream out;
    out << "conv2d " << pass << " on CUDA: x " << shape_str(x.shape()) << ", w " << shape_str(w.shape()) << ", y "
        << shape_str(y.shape()) << ", " << dtype_name(x.dtype()) << ", stride (" << g.stride_h << "," << g.stride_w
        << "), padding (" << g.pad_h << "," << g.pad_w << "), dilation (" << g.dilation_h << "," << g.dilation_w
        << "), groups " << g.groups;
    return out.str();
}

// Checks the operands and fills the descriptors. x, w, y stand for the roles in the forward pass.
void setup_conv(ConvSetup& s, const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dGeometry& g,
                const std::string& what) {
    WSOL_CHECK(x.is_cuda() && x.device() == w.device() && x.device() == y.device(), what,
               ": tensors must be on one CUDA device");
    WSOL_CHECK(x.dtype() == w.dtype() && x.dtype() == y.dtype(), what, ": x, w and y must have one dtype");
    WSOL_CHECK(x.dim() == 4 && w.dim() == 4, what, ": expected 4-D x and w");
    WSOL_CHECK(y.shape() == conv2d_output_shape(x.shape(), w.shape(), g), what, ": y must have shape ",
               shape_str(conv2d_output_shape(x.shape(), w.shape(), g)));
    WSOL_CHECK(w.is_contiguous(), what, ": the filter must be contiguous");
    set_tensor(s.x, x, "conv2d");
    set_tensor(s.y, y, "conv2d");
    WSOL_CUDNN_CHECK(cudnnSetFilter4dDescriptor(s.w.d, cudnn_type(w.dtype(), "conv2d"), CUDNN_TENSOR_NCHW, int(w.size(0)),
                                                int(w.size(1)), int(w.size(2)), int(w.size(3))));
    const cudnnDataType_t compute = x.dtype() == kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    WSOL_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(s.conv.d, int(g.pad_h), int(g.pad_w), int(g.stride_h),
                                                     int(g.stride_w), int(g.dilation_h), int(g.dilation_w),
                                                     CUDNN_CROSS_CORRELATION, compute));
    WSOL_CUDNN_CHECK(cudnnSetConvolutionGroupCount(s.conv.d, int(g.groups)));
    WSOL_CUDNN_CHECK(cudnnSetConvolutionMathType(s.conv.d, wanted_math(x.dtype())));
}

// The cached algorithm for one pass of one convolution; the math type of the choice is set on the
// descriptor (cuDNN requires the two to agree).
Choice choose(Pass pass, cudnnHandle_t handle, ConvSetup& s, const Tensor& x, const Tensor& w, const Tensor& y,
              const Conv2dGeometry& g, const std::string& what) {
    std::ostringstream key;
    key << int(pass) << '|' << x.device().index << '|' << key_of(x) << '|' << key_of(w) << '|' << key_of(y) << '|'
        << g.stride_h << ',' << g.stride_w << ',' << g.pad_h << ',' << g.pad_w << ',' << g.dilation_h << ','
        << g.dilation_w << ',' << g.groups << '|' << int(wanted_math(x.dtype()));
    std::lock_guard<std::mutex> lock(g_mutex);
    auto found = choices().find(key.str());
    if (found == choices().end()) {
        const cudnnMathType_t wanted = wanted_math(x.dtype());
        Choice c;
        int returned = 0;
        switch (pass) {
            case Pass::Forward: {
                cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
                WSOL_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
                    handle, s.x.d, s.w.d, s.conv.d, s.y.d, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
                c = pick(perf, returned, wanted, what);
                break;
            }
            case Pass::BackwardData: {
                cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
                WSOL_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
                    handle, s.w.d, s.y.d, s.conv.d, s.x.d, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
                c = pick(perf, returned, wanted, what);
                break;
            }
            case Pass::BackwardFilter: {
                cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
                WSOL_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                    handle, s.x.d, s.y.d, s.conv.d, s.w.d, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf));
                c = pick(perf, returned, wanted, what);
                break;
            }
        }
        found = choices().emplace(key.str(), c).first;
    }
    WSOL_CUDNN_CHECK(cudnnSetConvolutionMathType(s.conv.d, found->second.math));
    return found->second;
}

// alpha = 1, beta = 0 in the scaling type cuDNN expects (double for double data, float otherwise).
struct Scaling {
    float f1 = 1.0f, f0 = 0.0f;
    double d1 = 1.0, d0 = 0.0;
    bool is_double;
    explicit Scaling(DType dtype) : is_double(dtype == kFloat64) {}
    const void* one() const { return is_double ? static_cast<const void*>(&d1) : static_cast<const void*>(&f1); }
    const void* zero() const { return is_double ? static_cast<const void*>(&d0) : static_cast<const void*>(&f0); }
};

Tensor workspace(size_t bytes, Device device) {
    return bytes > 0 ? Tensor::empty({int64_t(bytes)}, kUInt8, device) : Tensor();
}
void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

}  // namespace

Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dGeometry& g) {
    WSOL_CHECK(x.size() == 4 && w.size() == 4, "conv2d: expected x (N, C, H, W) and w (K, C/groups, R, S), got ",
               shape_str(x), " and ", shape_str(w));
    WSOL_CHECK(g.groups >= 1 && g.stride_h >= 1 && g.stride_w >= 1 && g.dilation_h >= 1 && g.dilation_w >= 1 &&
                   g.pad_h >= 0 && g.pad_w >= 0,
               "conv2d: groups, strides and dilations must be >= 1 and paddings >= 0");
    WSOL_CHECK(x[1] % g.groups == 0 && w[0] % g.groups == 0 && w[1] * g.groups == x[1], "conv2d: x ", shape_str(x),
               " and w ", shape_str(w), " do not fit ", g.groups, " groups (x has C channels, w must be (K, C/groups, "
               "R, S) with K divisible by groups)");
    const int64_t p = (x[2] + 2 * g.pad_h - g.dilation_h * (w[2] - 1) - 1) / g.stride_h + 1;
    const int64_t q = (x[3] + 2 * g.pad_w - g.dilation_w * (w[3] - 1) - 1) / g.stride_w + 1;
    WSOL_CHECK(p > 0 && q > 0, "conv2d: x ", shape_str(x), " with filter ", shape_str(w), " gives an empty output");
    return {x[0], w[0], p, q};
}

void conv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Conv2dGeometry& g) {
    const std::string what = conv_what("forward", x, w, y, g);
    ConvSetup s;
    setup_conv(s, x, w, y, g, what);
    const int device = x.device().index;
    cudnnHandle_t handle = cudnn_handle(device);
    const Choice c = choose(Pass::Forward, handle, s, x, w, y, g, what);
    Tensor ws = workspace(c.workspace, x.device());
    const Scaling scale(x.dtype());
    WSOL_CUDNN_CHECK(cudnnConvolutionForward(handle, scale.one(), s.x.d, x.raw_data(), s.w.d, w.raw_data(), s.conv.d,
                                             cudnnConvolutionFwdAlgo_t(c.algo), data_or_null(ws), c.workspace,
                                             scale.zero(), s.y.d, y.raw_data()));
    y.storage()->bump_version();
}

void conv2d_backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w, const Conv2dGeometry& g) {
    const std::string what = conv_what("backward data", dx, w, dy, g);
    ConvSetup s;
    setup_conv(s, dx, w, dy, g, what);
    const int device = dx.device().index;
    cudnnHandle_t handle = cudnn_handle(device);
    const Choice c = choose(Pass::BackwardData, handle, s, dx, w, dy, g, what);
    Tensor ws = workspace(c.workspace, dx.device());
    const Scaling scale(dx.dtype());
    WSOL_CUDNN_CHECK(cudnnConvolutionBackwardData(handle, scale.one(), s.w.d, w.raw_data(), s.y.d, dy.raw_data(),
                                                  s.conv.d, cudnnConvolutionBwdDataAlgo_t(c.algo), data_or_null(ws),
                                                  c.workspace, scale.zero(), s.x.d, dx.raw_data()));
    dx.storage()->bump_version();
}

void conv2d_backward_filter(const Tensor& dw, const Tensor& dy, const Tensor& x, const Conv2dGeometry& g) {
    const std::string what = conv_what("backward filter", x, dw, dy, g);
    ConvSetup s;
    setup_conv(s, x, dw, dy, g, what);
    const int device = x.device().index;
    cudnnHandle_t handle = cudnn_handle(device);
    const Choice c = choose(Pass::BackwardFilter, handle, s, x, dw, dy, g, what);
    Tensor ws = workspace(c.workspace, x.device());
    const Scaling scale(x.dtype());
    WSOL_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, scale.one(), s.x.d, x.raw_data(), s.y.d, dy.raw_data(),
                                                    s.conv.d, cudnnConvolutionBwdFilterAlgo_t(c.algo), data_or_null(ws),
                                                    c.workspace, scale.zero(), s.w.d, dw.raw_data()));
    dw.storage()->bump_version();
}

size_t conv_algorithm_cache_size() {
    std::lock_guard<std::mutex> lock(g_mutex);
    return choices().size();
}

// ---- batch normalisation ------------------------------------------------------------------------

namespace {

constexpr cudnnBatchNormMode_t kBatchNormMode = CUDNN_BATCHNORM_SPATIAL;

// Checks x and the per-channel tensors, and derives the descriptor of the latter.
void setup_batch_norm(TensorDesc& x_desc, TensorDesc& param_desc, const Tensor& x,
                      std::initializer_list<Tensor> per_channel, double eps, const char* op) {
    WSOL_CHECK(x.is_cuda(), op, ": x must be a CUDA tensor");
    WSOL_CHECK(x.dtype() == kFloat32 || x.dtype() == kBFloat16 || x.dtype() == kFloat64, op, " on CUDA: dtype ",
               dtype_name(x.dtype()), " is not supported (float32, bfloat16, float64 are)");
    WSOL_CHECK(eps >= CUDNN_BN_MIN_EPSILON, op, ": eps ", eps, " is below cuDNN's minimum ", CUDNN_BN_MIN_EPSILON);
    WSOL_CHECK(x.dim() == 4 || x.dim() == 2, op, ": expected x (N, C, H, W) or (N, C), got ", shape_str(x.shape()));
    const DType param_dtype = x.dtype() == kFloat64 ? kFloat64 : kFloat32;
    for (const Tensor& t : per_channel) {
        if (!t.defined()) continue;
        WSOL_CHECK(t.device() == x.device() && t.shape() == Shape({x.size(1)}) && t.is_contiguous() &&
                       t.dtype() == param_dtype,
                   op, ": per-channel tensors must be contiguous (", x.size(1), ") ", dtype_name(param_dtype),
                   " tensors on ", x.device().str(), ", got ", shape_str(t.shape()), " ", dtype_name(t.dtype()));
    }
    set_tensor(x_desc, x, op);
    WSOL_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(param_desc.d, x_desc.d, kBatchNormMode));
}

}  // namespace

void batch_norm_forward_training(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                 const Tensor& running_mean, const Tensor& running_var, double momentum, double eps,
                                 const Tensor& save_mean, const Tensor& save_invstd) {
    const char* op = "batch_norm (training)";
    WSOL_CHECK(weight.defined() && bias.defined() && save_mean.defined() && save_invstd.defined(), op,
               ": weight, bias, save_mean and save_invstd are required");
    WSOL_CHECK(running_mean.defined() == running_var.defined(), op, ": give both running statistics or neither");
    WSOL_CHECK(y.shape() == x.shape() && y.dtype() == x.dtype() && y.device() == x.device(), op,
               ": y must match x");
    TensorDesc x_desc, y_desc, param_desc;
    setup_batch_norm(x_desc, param_desc, x, {weight, bias, running_mean, running_var, save_mean, save_invstd}, eps, op);
    set_tensor(y_desc, y, op);
    cudnnHandle_t handle = cudnn_handle(x.device().index);
    const Scaling scale(x.dtype());
    WSOL_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
        handle, kBatchNormMode, scale.one(), scale.zero(), x_desc.d, x.raw_data(), y_desc.d, y.raw_data(), param_desc.d,
        weight.raw_data(), bias.raw_data(), momentum, data_or_null(running_mean), data_or_null(running_var), eps,
        save_mean.raw_data(), save_invstd.raw_data()));
    for (const Tensor& t : {y, save_mean, save_invstd, running_mean, running_var}) {
        if (t.defined()) t.storage()->bump_version();
    }
}

void batch_norm_forward_inference(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var, double eps) {
    const char* op = "batch_norm (inference)";
    WSOL_CHECK(weight.defined() && bias.defined() && running_mean.defined() && running_var.defined(), op,
               ": weight, bias and the running statistics are required");
    WSOL_CHECK(y.shape() == x.shape() && y.dtype() == x.dtype() && y.device() == x.device(), op, ": y must match x");
    TensorDesc x_desc, y_desc, param_desc;
    setup_batch_norm(x_desc, param_desc, x, {weight, bias, running_mean, running_var}, eps, op);
    set_tensor(y_desc, y, op);
    cudnnHandle_t handle = cudnn_handle(x.device().index);
    const Scaling scale(x.dtype());
    WSOL_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(
        handle, kBatchNormMode, scale.one(), scale.zero(), x_desc.d, x.raw_data(), y_desc.d, y.raw_data(), param_desc.d,
        weight.raw_data(), bias.raw_data(), running_mean.raw_data(), running_var.raw_data(), eps));
    y.storage()->bump_version();
}

void batch_norm_backward(const Tensor& dx, const Tensor& dweight, const Tensor& dbias, const Tensor& dy,
                         const Tensor& x, const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                         double eps) {
    const char* op = "batch_norm backward";
    WSOL_CHECK(dx.defined() && dweight.defined() && dbias.defined() && weight.defined() && save_mean.defined() &&
                   save_invstd.defined(),
               op, ": every tensor is required");
    WSOL_CHECK(dx.shape() == x.shape() && dy.shape() == x.shape() && dx.dtype() == x.dtype() && dy.dtype() == x.dtype() &&
                   dx.device() == x.device() && dy.device() == x.device(),
               op, ": dx and dy must match x");
    TensorDesc x_desc, dx_desc, dy_desc, param_desc;
    setup_batch_norm(x_desc, param_desc, x, {weight, dweight, dbias, save_mean, save_invstd}, eps, op);
    set_tensor(dx_desc, dx, op);
    set_tensor(dy_desc, dy, op);
    cudnnHandle_t handle = cudnn_handle(x.device().index);
    const Scaling scale(x.dtype());
    WSOL_CUDNN_CHECK(cudnnBatchNormalizationBackward(
        handle, kBatchNormMode, scale.one(), scale.zero(), scale.one(), scale.zero(), x_desc.d, x.raw_data(), dy_desc.d,
        dy.raw_data(), dx_desc.d, dx.raw_data(), param_desc.d, weight.raw_data(), dweight.raw_data(), dbias.raw_data(),
        eps, save_mean.raw_data(), save_invstd.raw_data()));
    for (const Tensor& t : {dx, dweight, dbias}) t.storage()->bump_version();
}

}  // namespace wsol::cuda
