// CPU dropout kernel: one pass, y = x * (mask * scale), mask stored as uint8 to keep the saved
// tensor small (a quarter of a float32 mask). A multiplication, not a select, so that a dropped
// inf or NaN still gives NaN, as PyTorch's x * mask does.
#include "ops/cpu/dropout.h"

#include "engine/dispatch.h"
#include "engine/strided_loop.h"

namespace wsol::cpu {

void masked_scale(const Tensor& out, const Tensor& x, const Tensor& mask, double scale) {
    WSOL_CHECK(mask.dtype() == kUInt8, "dropout: mask must be uint8, got ", dtype_name(mask.dtype()));
    dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T s = T(scale);
        StridedLoop<3> loop(out.shape(), {out, x, mask});
        loop.run([s](std::array<char*, 3> p, std::array<int64_t, 3> step, int64_t n) {
            T* o = reinterpret_cast<T*>(p[0]);
            const T* a = reinterpret_cast<const T*>(p[1]);
            const uint8_t* m = reinterpret_cast<const uint8_t*>(p[2]);
            if (step[0] == int64_t(sizeof(T)) && step[1] == int64_t(sizeof(T)) && step[2] == 1) {
#pragma omp simd
                for (int64_t i = 0; i < n; ++i) o[i] = a[i] * (T(m[i]) * s);
            } else if (step[0] == int64_t(sizeof(T)) && step[1] == int64_t(sizeof(T)) && step[2] == 0) {
                const T factor = T(m[0]) * s;  // drop_path: one mask value for the whole run
#pragma omp simd
                for (int64_t i = 0; i < n; ++i) o[i] = a[i] * factor;
            } else {
                for (int64_t i = 0; i < n; ++i) {
                    const T v = *reinterpret_cast<const T*>(p[1] + i * step[1]);
                    *reinterpret_cast<T*>(p[0] + i * step[0]) = v * (T(uint8_t(p[2][i * step[2]])) * s);
                }
            }
        });
    });
}

}  // namespace wsol::cpu
