// NumPy .npy files: one array per file, read and written as numpy.lib.format specifies.
//
//   [6 bytes]  magic "\x93NUMPY"
//   [2 bytes]  format version major, minor: 1.0, 2.0 or 3.0
//   [2 or 4]   header length, little-endian (u16 for 1.0, u32 for 2.0 and 3.0)
//   [header]   a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//              padded with spaces and a final '\n' (latin-1 for 1.0/2.0, UTF-8 for 3.0)
//   [data]     the raw elements, C (row-major) or Fortran (column-major) order
//
// Supported element types: '<f4' float32, '<f8' float64, '<f2' float16, '<i4' int32, '<i8' int64,
// '|u1' uint8 and '|b1' bool ('=' and, for one-byte types, '<'/'>'/'|' are accepted as byte-order
// marks). Big-endian multi-byte types, structured dtypes, object arrays and every other type are
// rejected with an error naming the file. Fortran-order arrays are read correctly (the result is a
// C-contiguous tensor with the same logical elements). The reader is strict: the header must hold
// exactly the three keys numpy writes, the shape must be a tuple of non-negative integers, and the
// data must have exactly shape × itemsize bytes (truncated data and trailing bytes are errors). It
// is fuzzed (tests/fuzz/fuzz_npy.cpp).
//
// The writer produces what numpy.save produces: version 1.0 (2.0 when the header does not fit in
// 65535 bytes), C order, the header padded so that the data starts at a multiple of 64 bytes. It
// writes atomically (engine/file_util.h).
#pragma once

#include <string>
#include <string_view>

#include "engine/tensor.h"

namespace wsol {

// Reads a .npy file into a new C-contiguous CPU tensor; throws wsol::Error naming `path`.
Tensor load_npy(const std::string& path);
// Parses .npy bytes already in memory; `source` names them in errors.
Tensor parse_npy(std::string_view bytes, const std::string& source);

// Writes any CPU or CUDA tensor (strided or not) of a dtype numpy has (not bfloat16), atomically.
void save_npy(const std::string& path, const Tensor& tensor);
std::string serialize_npy(const Tensor& tensor);

// The numpy type string wsol writes for a dtype: "<f4", "|u1", ... Throws for bfloat16.
const char* npy_descr(DType dtype);

}  // namespace wsol
