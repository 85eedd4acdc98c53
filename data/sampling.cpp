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

}  // namespace wsol::data
