/* Int8 MUL and ADD of a constant that varies along the last axis: the BatchNormalizations
   TensorFlow leaves in front of a ReLU (DenseNet's), as TFLite's reference kernels compute them. */
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
