#include <omp.h>

#include "engine/strided_loop.h"

namespace wsol {

int parallel_thread_count() { return omp_get_num_threads(); }
int parallel_thread_id() { return omp_get_thread_num(); }

}  // namespace wsol
