#include "engine/device.h"

#include <cctype>

#include "engine/error.h"
#if WSOL_CUDA
#include "engine/cuda/memory.h"
#endif

namespace wsol {

Device Device::parse(const std::string& text) {
    if (text == "cpu") return kCPU;
    if (text == "cuda") return Device(DeviceType::CUDA, 0);
    if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.size() < 9) {
        int index = 0;
        for (size_t i = 5; i < text.size(); ++i) {
            WSOL_CHECK(std::isdigit(static_cast<unsigned char>(text[i])), "bad device '", text,
                       "': expected cpu, cuda or cuda:N");
            index = index * 10 + (text[i] - '0');
        }
        return Device(DeviceType::CUDA, index);
    }
    WSOL_FAIL("bad device '", text, "': expected cpu, cuda or cuda:N");
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

bool cuda_compiled() {
#if WSOL_CUDA
    return true;
#else
    return false;
#endif
}

int cuda_device_count() {
#if WSOL_CUDA
    return cuda::device_count();
#else
    return 0;
#endif
}

}  // namespace wsol
