/* The float stages of hybrid kernels (float activations, int8 weights): quantizing the input on
   the fly and turning int32 sums back into floats. Each follows, operation for operation, the
   runtime it imitates, so no multiply and add may fuse unless the runtime fuses them. */
#include "isa.h"

#pragma STDC FP_CONTRACT OFF

/* Swift's min and max, which these stages imitated first: NaN never replaces the running value. */
#define INLINE static inline __attribute__((always_inline))

INLINE float lesser(float running, float v) { return v < running ? v : running; }
INLINE float greater(float running, float v) { return v >= running ? v : running; }

/* The quantization of `count` floats: the multiplier that maps them onto [-128, 127], the zero
   point, and the scale that maps the integers back. */
typedef struct {
    float multiplier, zero_point, scale;
    int asymmetric; /* TFLite's rounding (half away from zero) rather than XNNPACK's (to even) */
    int zero;       /* an all-equal range: every value quantizes to 0 (TFLite) */
} dynamic_params;

/* The range of `count` floats widened to hold 0, one value at a time. */
static void range_scalar(size_t count, const float *x, float *low, float *high) {
    float lowest = 0, highest = 0;
    for (size_t i = 0; i < count; i++) {
        lowest = lesser(lowest, x[i]);
        highest = greater(highest, x[i]);
    }
    *low = lowest;
    *high = highest;
}

#ifdef H5T_X86
/* The same eight lanes at a time: MINPS and MAXPS keep their second operand when the first is
   NaN, as `lesser` and `greater` do, and order does not change a minimum or maximum of numbers
   (a -0 that `greater` may keep where the sequence ends in it scales to the same integers). */
H5T_TARGET_AVX2
static void range_avx2(size_t count, const float *x, float *low, float *high) {
    __m256 lowest = _mm256_setzero_ps(), highest = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        lowest = _mm256_min_ps(v, lowest);
        highest = _mm256_max_ps(v, highest);
    }
    float lows[8], highs[8];
    _mm256_storeu_ps(lows, lowest);
    _mm256_storeu_ps(highs, highest);
    float l = 0, h = 0;
    for (int j = 0; j < 8; j++) {
        l = lesser(l, lows[j]);
        h = greater(h, highs[j]);
    }
    for (; i < count; i++) {
        l = lesser(l, x[i]);
        h = greater(h, x[i]);
    }
    *low = l;
    *high = h;
}
#endif

typedef void (*range_function)(size_t, const float *, float *, float *);

INLINE dynamic_params params_for(h5t_dynamic_quantization mode, size_t count, const float *x, range_function range) {
    float lowest, highest;
    range(count, x, &lowest, &highest);
    dynamic_params p = {1, 0, 1, mode == H5T_DYNAMIC_TFLITE, 0};
    if (mode == H5T_DYNAMIC_XNNPACK) {
        /* xnn_qd8_asymmetric_quantization_params, in float. */
        p.multiplier = lowest == highest ? 1 : 255 / (highest - lowest);
        float descaled_min = lowest * p.multiplier, descaled_max = highest * p.multiplier;
        float nearer = (-128 + descaled_min) + (127 + descaled_max) > 0 ? -128 - descaled_min : 127 - descaled_max;
        p.zero_point = __builtin_rintf(nearer < -128 ? -128 : nearer > 127 ? 127 : nearer);
        p.scale = 1 / p.multiplier;
        return p;
    }
    /* TFLite's AsymmetricQuantizeFloats: the zero point in double, values scaled by the float
       inverse of the float scale. */
    double rmin = lowest, rmax = highest;
    if (rmin == rmax) {
        p.zero = 1;
        return p;
    }
    double scale = (rmax - rmin) / 255;
    double from_min = -128 - rmin / scale, from_max = 127 - rmax / scale;
    double zero_point = 128 + __builtin_fabs(rmin / scale) < 127 + __builtin_fabs(rmax / scale) ? from_min : from_max;
    p.zero_point = zero_point <= -128 ? -128 : zero_point >= 127 ? 127 : (float)__builtin_round(zero_point);
    p.scale = (float)scale;
    p.multiplier = (float)(1 / (double)p.scale);
    return p;
}

/* One row's sums to floats. Without weight sums the zero point is 0 and the row's own sums stand
   in for them, so that the loops carry no test. */
INLINE void finish_row(h5t_hybrid_order order, int units, const int32_t *sums, float in, int32_t zero_point,
                       const int32_t *weight_sums, const float *weight_scales, const float *bias, float *output) {
    if (!weight_sums) {
        weight_sums = sums;
        zero_point = 0;
    }
    /* Wrapping arithmetic: the exact sum fits, whatever its parts do. */
#define EXACT(c) (float)(int32_t)((uint32_t)sums[c] - (uint32_t)zero_point * (uint32_t)weight_sums[c])
    switch (order) {
    case H5T_HYBRID_TFLITE_DEPTHWISE:
        for (int c = 0; c < units; c++) {
            float scaled = EXACT(c) * in;
            float product = scaled * weight_scales[c];
            output[c] = product + (bias ? bias[c] : 0);
        }
        break;
    case H5T_HYBRID_XNNPACK:
        for (int c = 0; c < units; c++) output[c] = __builtin_fmaf(EXACT(c) * in, weight_scales[c], bias ? bias[c] : 0);
        break;
    }
#undef EXACT
}

INLINE void finish(h5t_hybrid_order order, int rows, int units, const int32_t *sums, const float *input_scales,
                   const int32_t *zero_points, const int32_t *weight_sums, int per_row, const float *weight_scales,
                   const float *bias, float *output) {
    for (int row = 0; row < rows; row++, sums += units, output += units) {
        int at = per_row ? row : 0;
        finish_row(order, units, sums, input_scales[at], zero_points ? zero_points[at] : 0, weight_sums, weight_scales, bias, output);
    }
}

/* The quantized values themselves, for kernels that take int8 input and its zero point. */
INLINE void quantize(h5t_dynamic_quantization mode, size_t count, const float *input, int8_t *q, float *scale,
                     int32_t *zero_point, range_function range) {
    dynamic_params p = params_for(mode, count, input, range);
    *scale = p.scale;
    *zero_point = p.zero ? 0 : (int32_t)p.zero_point;
    if (p.zero) {
        for (size_t i = 0; i < count; i++) q[i] = 0;
        return;
    }
    /* One loop per rounding, with nothing else to decide per value, so that it vectorizes.
       TFLite's vectorized kernels round half away from zero as a sum and a truncation (x ± 0.5
       itself rounds for some x below 1); XNNPACK rounds to even. */
    float m = p.multiplier, z = p.zero_point;
    if (p.asymmetric) {
        for (size_t i = 0; i < count; i++) {
            float scaled = input[i] * m;
            float shifted = scaled + (scaled < 0 ? -0.5f : 0.5f);
            float v = __builtin_truncf(shifted) + z;
            q[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            float v = __builtin_rintf(input[i] * m) + z;
            q[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
        }
    }
}

/* The same code compiled for AVX2 and FMA (vectorized rounding, fused multiply-adds as
   instructions) and for the baseline; both give the same bits. */
#ifdef H5T_X86
H5T_TARGET_AVX2
static void finish_avx2(h5t_hybrid_order order, int rows, int units, const int32_t *sums, const float *input_scales,
                        const int32_t *zero_points, const int32_t *weight_sums, int per_row, const float *weight_scales,
                        const float *bias, float *output) {
    finish(order, rows, units, sums, input_scales, zero_points, weight_sums, per_row, weight_scales, bias, output);
}
#endif

void h5t_hybrid_finish(h5t_hybrid_order order, int rows, int units, const int32_t *sums, const float *input_scales,
                       const int32_t *zero_points, const int32_t *weight_sums, int per_row, const float *weight_scales,
                       const float *bias, float *output) {
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX2)
        return finish_avx2(order, rows, units, sums, input_scales, zero_points, weight_sums, per_row, weight_scales, bias, output);
#endif
    finish(order, rows, units, sums, input_scales, zero_points, weight_sums, per_row, weight_scales, bias, output);
}

#ifdef H5T_X86
H5T_TARGET_AVX2
static void quantize_avx2(h5t_dynamic_quantization mode, size_t count, const float *input, int8_t *q, float *scale,
                          int32_t *zero_point) {
    quantize(mode, count, input, q, scale, zero_point, range_avx2);
}
#endif

void h5t_dynamic_quantize(h5t_dynamic_quantization mode, size_t count, const float *input, int8_t *q, float *scale,
                          int32_t *zero_point) {
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX2) return quantize_avx2(mode, count, input, q, scale, zero_point);
#endif
    quantize(mode, count, input, q, scale, zero_point, range_scalar);
}
