#include "engine/shape.h"

#include "engine/error.h"

namespace wsol {

int64_t shape_numel(const Shape& shape) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    return n;
}

Strides contiguous_strides(const Shape& shape) {
    Strides strides(shape.size());
    int64_t running = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        strides[i] = running;
        running *= std::max<int64_t>(shape[i], 1);
    }
    return strides;
}

std::string shape_str(const Shape& shape) {
    std::string out = "(";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) out += ",";
        out += std::to_string(shape[i]);
    }
    return out + ")";
}

int64_t wrap_axis(int64_t axis, int64_t ndim, const char* op) {
    WSOL_CHECK(axis >= -ndim && axis < ndim, op, ": axis ", axis, " is out of range for a tensor with ", ndim,
               " dimension", ndim == 1 ? "" : "s");
    return axis < 0 ? axis + ndim : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (size_t i = 0; i < n; ++i) {
        int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        WSOL_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
                   " cannot be broadcast (dimension ", i, ": ", da, " vs ", db, ")");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

}  // namespace wsol
