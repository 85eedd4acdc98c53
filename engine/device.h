// Where a tensor's memory lives: the host ("cpu") or one CUDA device ("cuda:N").
#pragma once

#include <string>

namespace wsol {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
    DeviceType type = DeviceType::CPU;
    int index = 0;  // CUDA ordinal; always 0 for the CPU

    Device() = default;
    Device(DeviceType type_, int index_ = 0) : type(type_), index(index_) {}
    // Parses "cpu", "cuda" (= cuda:0) or "cuda:N"; throws wsol::Error on anything else.
    static Device parse(const std::string& text);

    bool is_cpu() const { return type == DeviceType::CPU; }
    bool is_cuda() const { return type == DeviceType::CUDA; }
    std::string str() const;  // "cpu" or "cuda:N"
    bool operator==(const Device& other) const = default;
};

inline const Device kCPU{DeviceType::CPU, 0};

// True when the library was compiled with the CUDA backend (WSOL_CUDA).
bool cuda_compiled();
// Number of CUDA devices visible at run time; 0 without a GPU or without the CUDA backend.
int cuda_device_count();

}  // namespace wsol
