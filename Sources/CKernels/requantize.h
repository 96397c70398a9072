/* TFLite's MultiplyByQuantizedMultiplier on one value and on vectors of lanes: x * 2^max(shift, 0),
   the high half of its doubled product with the multiplier rounded half away from zero, then a
   right shift by max(-shift, 0) rounded half away from zero.

   For vectors: the high half is (a * m + 2^30) >> 31 for either sign of the product, since the
   multiplier is positive and below 2^31 (the saturating case cannot occur), and the low 32 bits
   of that shift are the same whether the 64-bit shift is arithmetic or not. */
#ifndef H5TOLITE_REQUANTIZE_H
#define H5TOLITE_REQUANTIZE_H

#include "isa.h"

static inline int32_t requantize(int32_t x, int32_t multiplier, int32_t shift) {
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int32_t a = (int32_t)((uint32_t)x << left);
    int32_t high;
    if (a == INT32_MIN && multiplier == INT32_MIN) {
        high = INT32_MAX;
    } else {
        int64_t product = (int64_t)a * multiplier;
        int32_t nudge = product >= 0 ? (1 << 30) : (1 - (1 << 30));
        high = (int32_t)((product + nudge) / ((int64_t)1 << 31));
    }
    int32_t mask = (int32_t)(((int64_t)1 << right) - 1);
    int32_t remainder = high & mask, threshold = (mask >> 1) + (high < 0 ? 1 : 0);
    return (high >> right) + (remainder > threshold ? 1 : 0);
}

static inline int32_t clamp32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

#ifdef H5T_X86
H5T_TARGET_AVX2
static inline __m256i requantize8(__m256i x, __m256i m, __m256i shift) {
    __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    __m256i left = _mm256_max_epi32(shift, zero), right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    __m256i a = _mm256_sllv_epi32(x, left);
    __m256i nudge = _mm256_set1_epi64x(1ll << 30);
    __m256i even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(a, m), nudge), 31);
    __m256i odd = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(m, 32)), nudge), 31);
    __m256i high = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
    __m256i remainder = _mm256_and_si256(high, mask);
    __m256i threshold = _mm256_add_epi32(_mm256_srai_epi32(mask, 1), _mm256_srli_epi32(high, 31));
    return _mm256_sub_epi32(_mm256_srav_epi32(high, right), _mm256_cmpgt_epi32(remainder, threshold));
}

H5T_TARGET_AVX512
static inline __m512i requantize16(__m512i x, __m512i m, __m512i shift) {
    __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    __m512i left = _mm512_max_epi32(shift, zero), right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
    __m512i a = _mm512_sllv_epi32(x, left);
    __m512i nudge = _mm512_set1_epi64(1ll << 30);
    __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, m), nudge), 31);
    __m512i odd = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(m, 32)), nudge), 31);
    __m512i high = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
    __m512i remainder = _mm512_and_si512(high, mask);
    __m512i threshold = _mm512_add_epi32(_mm512_srai_epi32(mask, 1), _mm512_srli_epi32(high, 31));
    __m512i result = _mm512_srav_epi32(high, right);
    return _mm512_mask_add_epi32(result, _mm512_cmpgt_epi32_mask(remainder, threshold), result, one);
}

/* The result plus the zero point, clamped, as int8 in the first `count` bytes of `out`. */
H5T_TARGET_AVX512
static inline void store16(__m512i v, int32_t zero_point, int32_t lo, int32_t hi, int count, int8_t *out) {
    v = _mm512_add_epi32(v, _mm512_set1_epi32(zero_point));
    v = _mm512_min_epi32(_mm512_max_epi32(v, _mm512_set1_epi32(lo)), _mm512_set1_epi32(hi));
    _mm512_mask_cvtepi32_storeu_epi8(out, (__mmask16)((1u << count) - 1), v);
}

H5T_TARGET_AVX2
static inline void store8(__m256i v, int32_t zero_point, int32_t lo, int32_t hi, int count, int8_t *out) {
    v = _mm256_add_epi32(v, _mm256_set1_epi32(zero_point));
    v = _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi));
    int32_t values[8];
    _mm256_storeu_si256((__m256i *)values, v);
    for (int j = 0; j < count; j++) out[j] = (int8_t)values[j];
}
#endif

#endif
