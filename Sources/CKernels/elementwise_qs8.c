/* Int8 elementwise arithmetic as TFLite's reference kernels compute it: MUL and ADD of a constant
   that varies along the last axis (the BatchNormalizations TensorFlow leaves in front of a ReLU,
   DenseNet's), and ADD or SUB of two tensors of one shape (residual connections). */
#include "requantize.h"

/* The value for element x of channel k, before the output zero point and clamp. */
static inline int32_t channel_value(const h5t_channel_op *op, int32_t x, int k) {
    int32_t centred = x - op->input_zero_point;
    if (!op->rescale) return requantize(centred * op->constants[k], op->multiplier, op->shift);
    int32_t rescaled = requantize((int32_t)((uint32_t)centred << 20), op->input_multiplier, op->input_shift);
    return requantize(rescaled + op->constants[k], op->multiplier, op->shift);
}

static void run_portable(const h5t_channel_op *op, size_t rows, const int8_t *x, int8_t *out) {
    for (size_t row = 0; row < rows; row++, x += op->width, out += op->width) {
        for (int k = 0; k < op->width; k++) {
            out[k] = (int8_t)clamp32(channel_value(op, x[k], k) + op->output_zero_point, op->lo, op->hi);
        }
    }
}

#ifdef H5T_X86
H5T_TARGET_AVX512
static void run_avx512(const h5t_channel_op *op, size_t rows, const int8_t *x, int8_t *out) {
    __m512i m = _mm512_set1_epi32(op->multiplier), shift = _mm512_set1_epi32(op->shift);
    __m512i input_m = _mm512_set1_epi32(op->input_multiplier), input_shift = _mm512_set1_epi32(op->input_shift);
    __m512i zero_point = _mm512_set1_epi32(op->input_zero_point);
    for (size_t row = 0; row < rows; row++, x += op->width, out += op->width) {
        for (int k = 0; k < op->width; k += 16) {
            int count = op->width - k < 16 ? op->width - k : 16;
            __mmask16 lanes = (__mmask16)((1u << count) - 1);
            __m512i centred = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, x + k)), zero_point);
            __m512i constants = _mm512_maskz_loadu_epi32(lanes, op->constants + k);
            __m512i value = op->rescale
                ? _mm512_add_epi32(requantize16(_mm512_slli_epi32(centred, 20), input_m, input_shift), constants)
                : _mm512_mullo_epi32(centred, constants);
            store16(requantize16(value, m, shift), op->output_zero_point, op->lo, op->hi, count, out + k);
        }
    }
}

H5T_TARGET_AVX2
static void run_avx2(const h5t_channel_op *op, size_t rows, const int8_t *x, int8_t *out) {
    __m256i m = _mm256_set1_epi32(op->multiplier), shift = _mm256_set1_epi32(op->shift);
    __m256i input_m = _mm256_set1_epi32(op->input_multiplier), input_shift = _mm256_set1_epi32(op->input_shift);
    __m256i zero_point = _mm256_set1_epi32(op->input_zero_point);
    for (size_t row = 0; row < rows; row++, x += op->width, out += op->width) {
        int k = 0;
        for (; k + 8 <= op->width; k += 8) {
            __m256i centred = _mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(x + k))), zero_point);
            __m256i constants = _mm256_loadu_si256((const __m256i *)(op->constants + k));
            __m256i value = op->rescale
                ? _mm256_add_epi32(requantize8(_mm256_slli_epi32(centred, 20), input_m, input_shift), constants)
                : _mm256_mullo_epi32(centred, constants);
            store8(requantize8(value, m, shift), op->output_zero_point, op->lo, op->hi, 8, out + k);
        }
        for (; k < op->width; k++) {
            out[k] = (int8_t)clamp32(channel_value(op, x[k], k) + op->output_zero_point, op->lo, op->hi);
        }
    }
}
#endif

void h5t_qs8_channel_op(const h5t_channel_op *op, size_t rows, const int8_t *input, int8_t *output) {
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX512) return run_avx512(op, rows, input, output);
    if (h5t_isa == H5T_AVX2) return run_avx2(op, rows, input, output);
#endif
    run_portable(op, rows, input, output);
}

/* ADD and SUB: each input rescaled from (x - z) * 2^20 to the shared scale, then the sum to the
   output's. */
static inline int32_t add_value(const h5t_add *op, int32_t x, int32_t y) {
    int32_t a = requantize((int32_t)((uint32_t)(x - op->left_zero_point) << 20), op->left_multiplier, op->left_shift);
    int32_t b = requantize((int32_t)((uint32_t)(y - op->right_zero_point) << 20), op->right_multiplier, op->right_shift);
    return requantize(op->subtract ? a - b : a + b, op->multiplier, op->shift);
}

#ifdef H5T_X86
H5T_TARGET_AVX512
static void add_avx512(const h5t_add *op, size_t count, const int8_t *x, const int8_t *y, int8_t *out) {
    __m512i lm = _mm512_set1_epi32(op->left_multiplier), ls = _mm512_set1_epi32(op->left_shift);
    __m512i rm = _mm512_set1_epi32(op->right_multiplier), rs = _mm512_set1_epi32(op->right_shift);
    __m512i m = _mm512_set1_epi32(op->multiplier), shift = _mm512_set1_epi32(op->shift);
    __m512i lz = _mm512_set1_epi32(op->left_zero_point), rz = _mm512_set1_epi32(op->right_zero_point);
    for (size_t i = 0; i < count; i += 16) {
        int lanes_count = count - i < 16 ? (int)(count - i) : 16;
        __mmask16 lanes = (__mmask16)((1u << lanes_count) - 1);
        __m512i a = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, x + i)), lz);
        __m512i b = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, y + i)), rz);
        a = requantize16(_mm512_slli_epi32(a, 20), lm, ls);
        b = requantize16(_mm512_slli_epi32(b, 20), rm, rs);
        __m512i sum = op->subtract ? _mm512_sub_epi32(a, b) : _mm512_add_epi32(a, b);
        store16(requantize16(sum, m, shift), op->output_zero_point, op->lo, op->hi, lanes_count, out + i);
    }
}

H5T_TARGET_AVX2
static void add_avx2(const h5t_add *op, size_t count, const int8_t *x, const int8_t *y, int8_t *out) {
    __m256i lm = _mm256_set1_epi32(op->left_multiplier), ls = _mm256_set1_epi32(op->left_shift);
    __m256i rm = _mm256_set1_epi32(op->right_multiplier), rs = _mm256_set1_epi32(op->right_shift);
    __m256i m = _mm256_set1_epi32(op->multiplier), shift = _mm256_set1_epi32(op->shift);
    __m256i lz = _mm256_set1_epi32(op->left_zero_point), rz = _mm256_set1_epi32(op->right_zero_point);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256i a = _mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(x + i))), lz);
        __m256i b = _mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(y + i))), rz);
        a = requantize8(_mm256_slli_epi32(a, 20), lm, ls);
        b = requantize8(_mm256_slli_epi32(b, 20), rm, rs);
        __m256i sum = op->subtract ? _mm256_sub_epi32(a, b) : _mm256_add_epi32(a, b);
        store8(requantize8(sum, m, shift), op->output_zero_point, op->lo, op->hi, 8, out + i);
    }
    for (; i < count; i++) out[i] = (int8_t)clamp32(add_value(op, x[i], y[i]) + op->output_zero_point, op->lo, op->hi);
}
#endif

void h5t_qs8_add(const h5t_add *op, size_t count, const int8_t *x, const int8_t *y, int8_t *out) {
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX512) return add_avx512(op, count, x, y, out);
    if (h5t_isa == H5T_AVX2) return add_avx2(op, count, x, y, out);
#endif
    for (size_t i = 0; i < count; i++) out[i] = (int8_t)clamp32(add_value(op, x[i], y[i]) + op->output_zero_point, op->lo, op->hi);
}

/* QUANTIZE from float32: round(x / scale), in doubles, halves away from zero, plus the zero
   point, clamped; one loop compiled for each instruction set, which the compiler vectorizes. */
static inline __attribute__((always_inline)) void quantize_loop(size_t count, const float *x, double scale,
                                                                int32_t zero_point, int32_t lo, int32_t hi, int8_t *out) {
    for (size_t i = 0; i < count; i++) {
        double q = __builtin_round((double)x[i] / scale);
        q = q < -2147483648.0 ? -2147483648.0 : q > 2147483647.0 ? 2147483647.0 : q;
        out[i] = (int8_t)clamp32((int32_t)((uint32_t)(int32_t)q + (uint32_t)zero_point), lo, hi);
    }
}

#ifdef H5T_X86
H5T_TARGET_AVX512
static void quantize_avx512(size_t count, const float *x, double scale, int32_t zero_point, int32_t lo, int32_t hi, int8_t *out) {
    quantize_loop(count, x, scale, zero_point, lo, hi, out);
}

H5T_TARGET_AVX2
static void quantize_avx2(size_t count, const float *x, double scale, int32_t zero_point, int32_t lo, int32_t hi, int8_t *out) {
    quantize_loop(count, x, scale, zero_point, lo, hi, out);
}
#endif

void h5t_quantize_int8(size_t count, const float *x, double scale, int32_t zero_point, int32_t lo, int32_t hi, int8_t *out) {
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX512) return quantize_avx512(count, x, scale, zero_point, lo, hi, out);
    if (h5t_isa == H5T_AVX2) return quantize_avx2(count, x, scale, zero_point, lo, hi, out);
#endif
    quantize_loop(count, x, scale, zero_point, lo, hi, out);
}
