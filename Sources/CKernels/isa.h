/* The instruction sets the kernels come in, best last. */
#ifndef H5TOLITE_ISA_H
#define H5TOLITE_ISA_H

#include "kernels.h"

enum { H5T_PORTABLE, H5T_AVX2, H5T_AVX512, H5T_AVX512_VNNI };

extern int h5t_isa;

#if defined(__x86_64__) || defined(__i386__)
#define H5T_X86 1
#include <immintrin.h>
#define H5T_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define H5T_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define H5T_TARGET_AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#endif

#endif
