// One knob for all CPU threading.
//
// The CPU backend parallelises with OpenMP only: our own loops (elementwise, im2col, pooling...)
// and the GEMMs, which are split into one single-threaded OpenBLAS call per thread
// (ops/cpu/blas.h explains why OpenBLAS's own pthread pool is not used: its idle threads and
// OpenMP's spin against each other). set_num_threads(n) therefore sets OpenMP to n threads and
// pins OpenBLAS to one, so an app or a benchmark controls the whole process in one place. The
// default is OMP_NUM_THREADS (or the number of cores).
#pragma once

namespace wsol {

// Threads an OpenMP parallel region of the CPU backend uses (omp_get_max_threads()).
int num_threads();
// n >= 1 OpenMP threads for everything, OpenBLAS single-threaded inside them.
void set_num_threads(int n);

}  // namespace wsol
