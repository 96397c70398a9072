/* DEPTHWISE_CONV_2D over a range of output pixels: each output channel sums its input channel
   under the window (offsets as for h5t_f32_igemm, one per pixel and tap, negative in the
   padding) times its own tap, vectorized across channels. */
#include "requantize.h"

/* Output channel o reads input channel o / multiplier. */
static inline int input_channel(const h5t_depthwise *d, int o) { return d->multiplier == 1 ? o : o / d->multiplier; }

static void f32_portable(const h5t_depthwise *d, int first, int count, const float *input, const float *weights,
                         const float *bias, float *output, float lo, float hi) {
    int width = d->channels * d->multiplier;
    for (int pixel = first; pixel < first + count; pixel++, output += width) {
        for (int o = 0; o < width; o++) {
            float sum = 0;
            for (int tap = 0; tap < d->taps; tap++) {
                int32_t offset = d->offsets[(ptrdiff_t)pixel * d->taps + tap];
                if (offset >= 0) sum = __builtin_fmaf(input[offset + input_channel(d, o)], weights[tap * width + o], sum);
            }
            sum += bias ? bias[o] : 0;
            output[o] = sum < lo ? lo : sum > hi ? hi : sum;
        }
    }
}

#ifdef H5T_X86
H5T_TARGET_AVX512
static void f32_avx512(const h5t_depthwise *d, int first, int count, const float *input, const float *weights,
                       const float *bias, float *output, float lo, float hi) {
    int width = d->channels;
    __m512 low = _mm512_set1_ps(lo), high = _mm512_set1_ps(hi);
    for (int pixel = first; pixel < first + count; pixel++, output += width) {
        const int32_t *offsets = d->offsets + (ptrdiff_t)pixel * d->taps;
        for (int c = 0; c < width; c += 16) {
            __mmask16 lanes = (__mmask16)((1u << (width - c < 16 ? width - c : 16)) - 1);
            __m512 sum = _mm512_setzero_ps();
            for (int tap = 0; tap < d->taps; tap++) {
                if (offsets[tap] < 0) continue;
                __m512 x = _mm512_maskz_loadu_ps(lanes, input + offsets[tap] + c);
                sum = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(lanes, weights + tap * width + c), sum);
            }
            if (bias) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(lanes, bias + c));
            _mm512_mask_storeu_ps(output + c, lanes, _mm512_min_ps(_mm512_max_ps(sum, low), high));
        }
    }
}

H5T_TARGET_AVX2
static void f32_avx2(const h5t_depthwise *d, int first, int count, const float *input, const float *weights,
                     const float *bias, float *output, float lo, float hi) {
    int width = d->channels, vectors = width / 8 * 8;
    __m256 low = _mm256_set1_ps(lo), high = _mm256_set1_ps(hi);
    for (int pixel = first; pixel < first + count; pixel++, output += width) {
        const int32_t *offsets = d->offsets + (ptrdiff_t)pixel * d->taps;
        for (int c = 0; c < vectors; c += 8) {
            __m256 sum = _mm256_setzero_ps();
            for (int tap = 0; tap < d->taps; tap++) {
                if (offsets[tap] < 0) continue;
                sum = _mm256_fmadd_ps(_mm256_loadu_ps(input + offsets[tap] + c), _mm256_loadu_ps(weights + tap * width + c), sum);
            }
            if (bias) sum = _mm256_add_ps(sum, _mm256_loadu_ps(bias + c));
            _mm256_storeu_ps(output + c, _mm256_min_ps(_mm256_max_ps(sum, low), high));
        }
        for (int c = vectors; c < width; c++) {
            float sum = 0;
            for (int tap = 0; tap < d->taps; tap++) {
                if (offsets[tap] >= 0) sum = __builtin_fmaf(input[offsets[tap] + c], weights[tap * width + c], sum);
            }
            sum += bias ? bias[c] : 0;
            output[c] = sum < lo ? lo : sum > hi ? hi : sum;
        }
    }
}
#endif

void h5t_f32_depthwise(const h5t_depthwise *d, int first, int count, const float *input, const float *weights,
                       const float *bias, float *output, float lo, float hi) {
#ifdef H5T_X86
    if (d->multiplier == 1 && h5t_isa >= H5T_AVX512) return f32_avx512(d, first, count, input, weights, bias, output, lo, hi);
    if (d->multiplier == 1 && h5t_isa == H5T_AVX2) return f32_avx2(d, first, count, input, weights, bias, output, lo, hi);
#endif
    f32_portable(d, first, count, input, weights, bias, output, lo, hi);
}

/* The int8 form: sums of (x - zx) * w in int32, plus the bias, requantized per channel. */
static inline int32_t qs8_sum(const h5t_depthwise *d, int pixel, int o, const int8_t *input, const int32_t *weights, int32_t zx) {
    int width = d->channels * d->multiplier;
    int32_t sum = 0;
    for (int tap = 0; tap < d->taps; tap++) {
        int32_t offset = d->offsets[(ptrdiff_t)pixel * d->taps + tap];
        if (offset >= 0) sum += (input[offset + input_channel(d, o)] - zx) * weights[tap * width + o];
    }
    return sum;
}

static void qs8_portable(const h5t_depthwise *d, int first, int count, const int8_t *input, const int32_t *weights,
                         const int32_t *bias, int32_t zx, const h5t_requantization *q, int8_t *output) {
    int width = d->channels * d->multiplier;
    for (int pixel = first; pixel < first + count; pixel++, output += width) {
        for (int o = 0; o < width; o++) {
            int32_t sum = qs8_sum(d, pixel, o, input, weights, zx) + (bias ? bias[o] : 0);
            output[o] = (int8_t)clamp32(requantize(sum, q->multiplier[o], q->shift[o]) + q->output_zero_point, q->lo, q->hi);
        }
    }
}

#ifdef H5T_X86
H5T_TARGET_AVX512
static void qs8_avx512(const h5t_depthwise *d, int first, int count, const int8_t *input, const int32_t *weights,
                       const int32_t *bias, int32_t zx, const h5t_requantization *q, int8_t *output) {
    int width = d->channels;
    __m512i zero_point = _mm512_set1_epi32(zx);
    for (int pixel = first; pixel < first + count; pixel++, output += width) {
        const int32_t *offsets = d->offsets + (ptrdiff_t)pixel * d->taps;
        for (int c = 0; c < width; c += 16) {
            int lanes_count = width - c < 16 ? width - c : 16;
            __mmask16 lanes = (__mmask16)((1u << lanes_count) - 1);
            __m512i sum = bias ? _mm512_maskz_loadu_epi32(lanes, bias + c) : _mm512_setzero_si512();
            for (int tap = 0; tap < d->taps; tap++) {
                if (offsets[tap] < 0) continue;
                __m512i x = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, input + offsets[tap] + c)), zero_point);
                sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(x, _mm512_maskz_loadu_epi32(lanes, weights + tap * width + c)));
            }
            __m512i m = _mm512_maskz_loadu_epi32(lanes, q->multiplier + c), shift = _mm512_maskz_loadu_epi32(lanes, q->shift + c);
            store16(requantize16(sum, m, shift), q->output_zero_point, q->lo, q->hi, lanes_count, output + c);
        }
    }
}

H5T_TARGET_AVX2
static void qs8_avx2(const h5t_depthwise *d, int first, int count, const int8_t *input, const int32_t *weights,
                     const int32_t *bias, int32_t zx, const h5t_requantization *q, int8_t *output) {
    int width = d->channels, vectors = width / 8 * 8;
    __m256i zero_point = _mm256_set1_epi32(zx);
    for (int pixel = first; pixel < first + count; pixel++, output += width) {
        const int32_t *offsets = d->offsets + (ptrdiff_t)pixel * d->taps;
        for (int c = 0; c < vectors; c += 8) {
            __m256i sum = bias ? _mm256_loadu_si256((const __m256i *)(bias + c)) : _mm256_setzero_si256();
            for (int tap = 0; tap < d->taps; tap++) {
                if (offsets[tap] < 0) continue;
                __m256i x = _mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(input + offsets[tap] + c))), zero_point);
                sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(x, _mm256_loadu_si256((const __m256i *)(weights + tap * width + c))));
            }
            __m256i m = _mm256_loadu_si256((const __m256i *)(q->multiplier + c)), shift = _mm256_loadu_si256((const __m256i *)(q->shift + c));
            store8(requantize8(sum, m, shift), q->output_zero_point, q->lo, q->hi, 8, output + c);
        }
        for (int c = vectors; c < width; c++) {
            int32_t sum = qs8_sum(d, pixel, c, input, weights, zx) + (bias ? bias[c] : 0);
            output[c] = (int8_t)clamp32(requantize(sum, q->multiplier[c], q->shift[c]) + q->output_zero_point, q->lo, q->hi);
        }
    }
}
#endif

void h5t_qs8_depthwise(const h5t_depthwise *d, int first, int count, const int8_t *input, const int32_t *weights,
                       const int32_t *bias, int32_t input_zero_point, const h5t_requantization *requantization,
                       int8_t *output) {
#ifdef H5T_X86
    if (d->multiplier == 1 && h5t_isa >= H5T_AVX512)
        return qs8_avx512(d, first, count, input, weights, bias, input_zero_point, requantization, output);
    if (d->multiplier == 1 && h5t_isa == H5T_AVX2)
        return qs8_avx2(d, first, count, input, weights, bias, input_zero_point, requantization, output);
#endif
    qs8_portable(d, first, count, input, weights, bias, input_zero_point, requantization, output);
}
