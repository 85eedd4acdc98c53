// Per-epoch permutations from Philox keys (see sampling.h).
#include "data/sampling.h"

#include <algorithm>
#include <numeric>

#include "engine/error.h"

namespace wsol::data {

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, uint64_t epoch) {
    WSOL_CHECK(n >= 0, "epoch_permutation: negative length ", n);
    std::vector<uint64_t> keys(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const philox::Block b = sample_random(seed, epoch, uint64_t(i), RandomStream::Shuffle);
        keys[size_t(i)] = (uint64_t(b.x[0]) << 32) | b.x[1];
    }
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    // Ties (probability ~n^2 / 2^65) fall back to the position, so the order is total.
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return keys[size_t(a)] != keys[size_t(b)] ? keys[size_t(a)] < keys[size_t(b)] : a < b;
    });
    return order;
}

SameClassSampler::SameClassSampler(const Dataset& dataset) : by_class_(indices_by_class(dataset)) {
    label_.resize(size_t(dataset.size()));
    position_.resize(size_t(dataset.size()));
    for (const std::vector<int64_t>& members : by_class_) {
        for (size_t k = 0; k < members.size(); ++k) {
            label_[size_t(members[k])] = dataset.records[size_t(members[k])].label;
            position_[size_t(members[k])] = int64_t(k);
        }
    }
}

int64_t SameClassSampler::pick(int64_t index, uint64_t seed, uint64_t epoch) const {
    WSOL_CHECK(index >= 0 && index < int64_t(label_.size()), "SameClassSampler::pick: index ", index, " outside 0..",
               int64_t(label_.size()) - 1);
    const std::vector<int64_t>& members = by_class_[size_t(label_[size_t(index)])];
    if (members.size() < 2) return index;
    // Uniform over the other members: draw in [0, n - 1) and step over our own position.
    const uint32_t word = sample_random(seed, epoch, uint64_t(index), RandomStream::AuxiliaryPick).x[0];
    const int64_t r = int64_t(uniform_below(word, uint32_t(members.size() - 1)));
    return members[size_t(r < position_[size_t(index)] ? r : r + 1)];
}

}  // namespace wsol::data
