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

/* q - zero_point for one value. TFLite's vectorized kernels round half away from zero as a sum
   and a truncation (x ± 0.5 itself rounds for some x below 1). */
INLINE int16_t centred(const dynamic_params *p, float v) {
    float scaled = v * p->multiplier, rounded;
    if (p->asymmetric) {
        float half = scaled < 0 ? -0.5f : 0.5f;
        float shifted = scaled + half;
        rounded = __builtin_truncf(shifted);
    } else {
        rounded = __builtin_rintf(scaled);
    }
    float q = rounded + p->zero_point;
    q = q < -128 ? -128 : q > 127 ? 127 : q;
    return (int16_t)(q - p->zero_point);
}

INLINE void stage_pixels(const dynamic_params *p, int pixels, int channels, int width, const float *x, int16_t *staged) {
    for (int pixel = 0; pixel < pixels; pixel++, x += channels, staged += width) {
        for (int c = 0; c < channels; c++) staged[c] = p->zero ? 0 : centred(p, x[c]);
        for (int c = channels; c < width; c++) staged[c] = 0;
    }
}

INLINE void stage(h5t_dynamic_quantization mode, int per_pixel, int pixels, int channels, int width,
                  const float *input, int16_t *staged, float *scales, range_function range) {
    if (!per_pixel) {
        dynamic_params p = params_for(mode, (size_t)pixels * channels, input, range);
        stage_pixels(&p, pixels, channels, width, input, staged);
        scales[0] = p.scale;
        return;
    }
    for (int pixel = 0; pixel < pixels; pixel++) {
        dynamic_params p = params_for(mode, (size_t)channels, input + (size_t)pixel * channels, range);
        stage_pixels(&p, 1, channels, width, input + (size_t)pixel * channels, staged + (size_t)pixel * width);
        scales[pixel] = p.scale;
    }
}

INLINE void finish(h5t_hybrid_order order, int rows, int units, const int32_t *sums, const float *input_scales,
                   int per_row, const float *weight_scales, const float *bias, float *output) {
    for (int row = 0; row < rows; row++, sums += units, output += units) {
        float in = input_scales[per_row ? row : 0];
        for (int c = 0; c < units; c++) {
            float sum = (float)sums[c], b = bias ? bias[c] : 0;
            switch (order) {
            case H5T_HYBRID_TFLITE: {
                float s = weight_scales[c] * in;
                float product = sum * s;
                output[c] = product + b;
                break;
            }
            case H5T_HYBRID_TFLITE_DEPTHWISE: {
                float scaled = sum * in;
                float product = scaled * weight_scales[c];
                output[c] = product + b;
                break;
            }
            case H5T_HYBRID_XNNPACK:
                output[c] = __builtin_fmaf(sum * in, weight_scales[c], b);
                break;
            }
        }
    }
}

/* The quantized values themselves, for kernels that take int8 input and its zero point. */
INLINE void quantize(h5t_dynamic_quantization mode, size_t count, const float *input, int8_t *q, float *scale,
                     int32_t *zero_point, range_function range) {
    dynamic_params p = params_for(mode, count, input, range);
    for (size_t i = 0; i < count; i++) q[i] = p.zero ? 0 : (int8_t)(centred(&p, input[i]) + (int16_t)p.zero_point);
    *scale = p.scale;
    *zero_point = p.zero ? 0 : (int32_t)p.zero_point;
}

/* The same code compiled for AVX2 and FMA (vectorized rounding, fused multiply-adds as
   instructions) and for the baseline; both give the same bits. */
#ifdef H5T_X86
H5T_TARGET_AVX2
static void stage_avx2(h5t_dynamic_quantization mode, int per_pixel, int pixels, int channels, int width,
                       const float *input, int16_t *staged, float *scales) {
    stage(mode, per_pixel, pixels, channels, width, input, staged, scales, range_avx2);
}

H5T_TARGET_AVX2
static void finish_avx2(h5t_hybrid_order order, int rows, int units, const int32_t *sums, const float *input_scales,
                        int per_row, const float *weight_scales, const float *bias, float *output) {
    finish(order, rows, units, sums, input_scales, per_row, weight_scales, bias, output);
}
#endif

void h5t_dynamic_stage(h5t_dynamic_quantization mode, int per_pixel, int pixels, int channels, int width,
                       const float *input, int16_t *staged, float *scales) {
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX2) return stage_avx2(mode, per_pixel, pixels, channels, width, input, staged, scales);
#endif
    stage(mode, per_pixel, pixels, channels, width, input, staged, scales, range_scalar);
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

void h5t_hybrid_finish(h5t_hybrid_order order, int rows, int units, const int32_t *sums, const float *input_scales,
                       int per_row, const float *weight_scales, const float *bias, float *output) {
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX2) return finish_avx2(order, rows, units, sums, input_scales, per_row, weight_scales, bias, output);
#endif
    finish(order, rows, units, sums, input_scales, per_row, weight_scales, bias, output);
}
