#include "engine/storage.h"

#include <cstdlib>

#include "engine/error.h"
#if WSOL_CUDA
#include "engine/cuda/memory.h"
#endif

namespace wsol {

void* cpu_allocate(size_t nbytes) {
    constexpr size_t kAlign = 64;
    size_t rounded = (std::max<size_t>(nbytes, 1) + kAlign - 1) / kAlign * kAlign;
    void* ptr = std::aligned_alloc(kAlign, rounded);
    WSOL_CHECK(ptr != nullptr, "out of host memory allocating ", nbytes, " bytes");
    return ptr;
}

void cpu_free(void* ptr) { std::free(ptr); }

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
    if (device.is_cpu()) {
        return std::shared_ptr<Storage>(new Storage(cpu_allocate(nbytes), nbytes, device, cpu_free));
    }
#if WSOL_CUDA
    void* ptr = cuda::device_malloc(nbytes, device.index);
    int index = device.index;
    return std::shared_ptr<Storage>(
        new Storage(ptr, nbytes, device, [index](void* p) { cuda::device_free(p, index); }));
#else
    WSOL_FAIL("cannot allocate on ", device.str(), ": this build of wsol has no CUDA backend (configure with -DWSOL_CUDA=ON)");
#endif
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device, Deleter deleter) {
    return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(deleter)));
}

Storage::~Storage() {
    if (deleter_ && data_) deleter_(data_);
}

}  // namespace wsol
