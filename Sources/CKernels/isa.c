#include "isa.h"

#include <stdlib.h>
#include <string.h>

int h5t_isa = H5T_PORTABLE;

static int best_isa(void) {
#ifdef H5T_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        return __builtin_cpu_supports("avx512vnni") ? H5T_AVX512_VNNI : H5T_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return H5T_AVX2;
#endif
    return H5T_PORTABLE;
}

static const char *const names[] = {"portable", "avx2", "avx512", "avx512vnni"};

/* Chosen before main runs, so that every thread sees one choice: the best the processor has,
   or a lesser one named by H5TOLITE_KERNELS (how the tests run every variant a machine has). */
__attribute__((constructor)) static void choose_isa(void) {
    int best = best_isa();
    h5t_isa = best;
    const char *wanted = getenv("H5TOLITE_KERNELS");
    for (int isa = 0; wanted && isa <= best; isa++) {
        if (strcmp(wanted, names[isa]) == 0) h5t_isa = isa;
    }
}

const char *h5t_kernel_isa(void) { return names[h5t_isa]; }
