// copy_into: the one raw data-movement primitive. Everything that moves or converts elements
// (contiguous(), to(dtype), to(device), printing, factories) comes through here.
#include <cstring>

#include "engine/dispatch.h"
#include "engine/strided_loop.h"
#include "engine/tensor.h"
#if WSOL_CUDA
#include "engine/cuda/copy.h"
#include "engine/cuda/memory.h"
#endif

namespace wsol {

namespace {

void check_broadcastable(const Tensor& dst, const Tensor& src) {
    bool ok = src.dim() <= dst.dim();
    for (int64_t i = 0; ok && i < src.dim(); ++i) {
        const int64_t s = src.shape()[size_t(src.dim() - 1 - i)];
        ok = s == 1 || s == dst.shape()[size_t(dst.dim() - 1 - i)];
    }
    WSOL_CHECK(ok, "copy: source of shape ", shape_str(src.shape()), " does not broadcast to destination shape ",
               shape_str(dst.shape()));
}

void copy_cpu(const Tensor& dst, const Tensor& src) {
    if (dst.dtype() == src.dtype() && dst.shape() == src.shape() && dst.is_contiguous() && src.is_contiguous()) {
        std::memmove(dst.raw_data(), src.raw_data(), size_t(dst.numel()) * dst.element_size());
        return;
    }
    StridedLoop<2> loop(dst.shape(), {dst, src});
    dispatch_all(dst.dtype(), "copy", [&](auto dst_tag) {
        using D = typename decltype(dst_tag)::type;
        dispatch_all(src.dtype(), "copy", [&](auto src_tag) {
            using S = typename decltype(src_tag)::type;
            loop.run([](std::array<char*, 2> p, std::array<int64_t, 2> step, int64_t n) {
                for (int64_t i = 0; i < n; ++i) {
                    *reinterpret_cast<D*>(p[0] + i * step[0]) = convert<D>(*reinterpret_cast<const S*>(p[1] + i * step[1]));
                }
            });
        });
    });
}

}  // namespace

void copy_into(const Tensor& dst, const Tensor& src) {
    WSOL_CHECK(dst.defined() && src.defined(), "copy: undefined tensor");
    check_broadcastable(dst, src);
    if (dst.numel() == 0) return;
    dst.storage()->bump_version();
    const Device dd = dst.device(), sd = src.device();
    if (dd.is_cpu() && sd.is_cpu()) {
        copy_cpu(dst, src);
        return;
    }
#if WSOL_CUDA
    if (dd == sd) {
        cuda::copy_strided(dst, src);
    } else if (sd.is_cpu()) {
        // Host -> device: materialise dst's dtype and shape on the host, then one transfer.
        Tensor staged = Tensor::empty(dst.shape(), dst.dtype(), kCPU);
        copy_cpu(staged, src);
        if (dst.is_contiguous()) {
            cuda::memcpy_host_to_device(dst.raw_data(), staged.raw_data(), size_t(staged.numel()) * staged.element_size(),
                                        dd.index);
        } else {
            Tensor on_device = Tensor::from_host(staged.raw_data(), staged.shape(), staged.dtype(), dd);
            cuda::copy_strided(dst, on_device);
        }
    } else {
        // Device -> host (or device -> other device, through the host): compact on the device first.
        Tensor compact = src;
        if (!src.is_contiguous()) {
            compact = Tensor::empty(src.shape(), src.dtype(), sd);
            cuda::copy_strided(compact, src);
        }
        Tensor host = Tensor::empty(src.shape(), src.dtype(), kCPU);
        cuda::memcpy_device_to_host(host.raw_data(), compact.raw_data(), size_t(host.numel()) * host.element_size(),
                                    sd.index);
        copy_into(dst, host);
    }
#else
    WSOL_FAIL("copy from ", sd.str(), " to ", dd.str(), ": this build of wsol has no CUDA backend");
#endif
}

void add_into(const Tensor& dst, const Tensor& src) {
    WSOL_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype() && dst.device() == src.device(),
               "add_into: destination ", shape_str(dst.shape()), " ", dtype_name(dst.dtype()), " on ", dst.device().str(),
               " and source ", shape_str(src.shape()), " ", dtype_name(src.dtype()), " on ", src.device().str(),
               " must agree");
    if (dst.numel() == 0) return;
    dst.storage()->bump_version();
    if (dst.device().is_cuda()) {
#if WSOL_CUDA
        cuda::add_strided(dst, src);
        return;
#endif
    }
    StridedLoop<2> loop(dst.shape(), {dst, src});
    auto add = [&](auto tag) {
        using T = typename decltype(tag)::type;
        loop.run([](std::array<char*, 2> p, std::array<int64_t, 2> step, int64_t n) {
            for (int64_t i = 0; i < n; ++i) {
                T& d = *reinterpret_cast<T*>(p[0] + i * step[0]);
                d = convert<T>(convert<float>(d) + convert<float>(*reinterpret_cast<const T*>(p[1] + i * step[1])));
            }
        });
    };
    switch (dst.dtype()) {
        case kFloat32: add(TypeTag<float>{}); break;
        case kFloat64:  // accumulate doubles in double, not through float
            loop.run([](std::array<char*, 2> p, std::array<int64_t, 2> step, int64_t n) {
                for (int64_t i = 0; i < n; ++i) {
                    *reinterpret_cast<double*>(p[0] + i * step[0]) += *reinterpret_cast<const double*>(p[1] + i * step[1]);
                }
            });
            break;
        case kBFloat16: add(TypeTag<BFloat16>{}); break;
        case kFloat16: add(TypeTag<Float16>{}); break;
        default: WSOL_FAIL("add_into: dtype ", dtype_name(dst.dtype()), " is not a floating type");
    }
}

}  // namespace wsol
