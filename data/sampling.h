// Where every random decision of the data pipeline comes from: Philox (engine/philox.h) keyed by the
// run's seed, with the counter built from (index, epoch, stream). A sample's crop, flip, auxiliary
// image and the epoch's shuffle are therefore pure functions of (seed, epoch, index) — never of the
// number of worker threads, their timing, or what was drawn before. That is what makes the loader
// reproducible and resumable at any batch.
//
// Counter layout: words (index low, index high, epoch, stream), key = seed. The engine's tensor
// generators use counters with the upper two words zero, and every stream here is non-zero, so the
// two never share a counter.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "engine/philox.h"

namespace wsol::data {

enum class RandomStream : uint32_t {
    Shuffle = 1,        // the epoch's permutation (index = dataset position)
    Augment = 2,        // crop offset and flip of a sample (index = dataset index)
    AuxiliaryPick = 3,  // CSFN's same-class second image
    AuxiliaryAugment = 4,
    Synth = 16,  // wsol-synth draws (index = image number); 16 + k for its sub-streams
};

// Four independent 32-bit random words.
inline philox::Block sample_random(uint64_t seed, uint64_t epoch, uint64_t index, RandomStream stream,
                                   uint32_t sub_stream = 0) {
    return philox::philox4x32_10(uint32_t(index), uint32_t(index >> 32), uint32_t(epoch), uint32_t(stream) + sub_stream,
                                 uint32_t(seed), uint32_t(seed >> 32));
}

// An integer uniform in [0, n) from one word (multiply-shift; bias below n / 2^32).
inline uint32_t uniform_below(uint32_t word, uint32_t n) {
    return uint32_t((uint64_t(word) * n) >> 32);
}
// A float uniform in [0, 1) with 24 random bits.
inline float unit_float(uint32_t word) {
    return philox::to_unit_float(word);
}

// The order of positions 0..n-1 in `epoch`: sorted by a 64-bit Philox key per position.
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, uint64_t epoch);

// CSFN's auxiliary image: for every training image, another image of the same class (a different
// file), drawn afresh each epoch. Deterministic in (seed, epoch, index); when a class has a single
// image, that image is its own partner (CSFN's list sampling would loop forever there).
class SameClassSampler {
public:
    explicit SameClassSampler(const Dataset& dataset);
    int64_t pick(int64_t index, uint64_t seed, uint64_t epoch) const;

private:
    std::vector<int64_t> label_, position_;  // per record: its class, its place in that class's list
    std::vector<std::vector<int64_t>> by_class_;
};

}  // namespace wsol::data
