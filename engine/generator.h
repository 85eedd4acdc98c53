// A seeded source of random streams. A Generator is just (seed, offset): every request for n
// random values takes the next ceil(n/4) Philox counters (engine/philox.h), so the numbers a
// program draws depend only on the seed and the order of requests - not on the device, the
// thread count or the timing. Saving (seed, offset) in a checkpoint restores the stream exactly.
//
// The functions that fill tensors (uniform, normal, truncated normal, bernoulli, randperm) are
// ops (ops/random.h); they ask the generator for an offset and compute each element from it.
#pragma once

#include <cstdint>

namespace wsol {

class Generator {
public:
    explicit Generator(uint64_t seed = 0) : seed_(seed) {}

    uint64_t seed() const { return seed_; }
    uint64_t offset() const { return offset_; }
    void set_state(uint64_t seed, uint64_t offset) {
        seed_ = seed;
        offset_ = offset;
    }

    // Reserves the counters for `count` values and returns the first one.
    uint64_t reserve(uint64_t count) {
        const uint64_t start = offset_;
        offset_ += (count + 3) / 4;
        return start;
    }

private:
    uint64_t seed_;
    uint64_t offset_ = 0;
};

}  // namespace wsol
