// set_num_threads: OpenMP for everything, OpenBLAS pinned to one thread (see ops/threads.h).
#include "ops/threads.h"

#include <cblas.h>
#include <omp.h>

#include "engine/error.h"

namespace wsol {

int num_threads() { return omp_get_max_threads(); }

void set_num_threads(int n) {
    WSOL_CHECK(n >= 1, "set_num_threads: need at least one thread, got ", n);
    omp_set_num_threads(n);
    openblas_set_num_threads(1);
}

}  // namespace wsol
