// numpy's pairwise float64 summation (see numpy_compat.h).
#include "eval/numpy_compat.h"

namespace wsol::eval {

double numpy_sum(std::span<const double> a) {
    const size_t n = a.size();
    if (n < 8) {
        double sum = 0.0;
        for (double v : a) sum += v;
        return sum;
    }
    if (n <= 128) {
        double r[8];
        for (size_t j = 0; j < 8; ++j) r[j] = a[j];
        size_t i = 8;
        for (; i < n - n % 8; i += 8) {
            for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
        }
        double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) sum += a[i];
        return sum;
    }
    size_t half = n / 2;
    half -= half % 8;
    return numpy_sum(a.first(half)) + numpy_sum(a.subspan(half));
}

}  // namespace wsol::eval
