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
/* The vector forms read each tap's row through a pointer, the zero row `padding` where the window
   leaves the image: adding its zero products leaves every sum as skipping them does (a sum that
   starts at +0 never becomes -0), so all variants still give the same bits. */
static inline void f32_rows(const h5t_depthwise *d, int pixel, const float *input, const float *padding, const float **rows) {
    const int32_t *offsets = d->offsets + (ptrdiff_t)pixel * d->taps;
    for (int tap = 0; tap < d->taps; tap++) rows[tap] = offsets[tap] >= 0 ? input + offsets[tap] : padding;
}

H5T_TARGET_AVX512
static void f32_avx512(const h5t_depthwise *d, int first, int count, const float *input, const float *padding,
                       const float *weights, const float *bias, float *output, float lo, float hi) {
    int width = d->channels, taps = d->taps;
    __m512 low = _mm512_set1_ps(lo), high = _mm512_set1_ps(hi);
    const float *rows[taps];
    for (int pixel = first; pixel < first + count; pixel++, output += width) {
        f32_rows(d, pixel, input, padding, rows);
        int c = 0;
        /* Two vectors of channels at a time: two independent chains of fused multiply-adds. */
        for (; c + 32 <= width; c += 32) {
            __m512 s = _mm512_setzero_ps(), t = _mm512_setzero_ps();
            const float *w = weights + c;
            for (int tap = 0; tap < taps; tap++, w += width) {
                s = _mm512_fmadd_ps(_mm512_loadu_ps(rows[tap] + c), _mm512_loadu_ps(w), s);
                t = _mm512_fmadd_ps(_mm512_loadu_ps(rows[tap] + c + 16), _mm512_loadu_ps(w + 16), t);
            }
            if (bias) {
                s = _mm512_add_ps(s, _mm512_loadu_ps(bias + c));
                t = _mm512_add_ps(t, _mm512_loadu_ps(bias + c + 16));
            }
            _mm512_storeu_ps(output + c, _mm512_min_ps(_mm512_max_ps(s, low), high));
            _mm512_storeu_ps(output + c + 16, _mm512_min_ps(_mm512_max_ps(t, low), high));
        }
        for (; c < width; c += 16) {
            __mmask16 lanes = (__mmask16)((1u << (width - c < 16 ? width - c : 16)) - 1);
            __m512 s = _mm512_setzero_ps();
            const float *w = weights + c;
            for (int tap = 0; tap < taps; tap++, w += width) {
                s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, rows[tap] + c), _mm512_maskz_loadu_ps(lanes, w), s);
            }
            if (bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(lanes, bias + c));
            _mm512_mask_storeu_ps(output + c, lanes, _mm512_min_ps(_mm512_max_ps(s, low), high));
        }
    }
}

H5T_TARGET_AVX2
static void f32_avx2(const h5t_depthwise *d, int first, int count, const float *input, const float *padding,
                     const float *weights, const float *bias, float *output, float lo, float hi) {
    int width = d->channels, taps = d->taps;
    __m256 low = _mm256_set1_ps(lo), high = _mm256_set1_ps(hi);
    const float *rows[taps];
    for (int pixel = first; pixel < first + count; pixel++, output += width) {
        f32_rows(d, pixel, input, padding, rows);
        int c = 0;
        for (; c + 16 <= width; c += 16) {
            __m256 s = _mm256_setzero_ps(), t = _mm256_setzero_ps();
            const float *w = weights + c;
            for (int tap = 0; tap < taps; tap++, w += width) {
                s = _mm256_fmadd_ps(_mm256_loadu_ps(rows[tap] + c), _mm256_loadu_ps(w), s);
                t = _mm256_fmadd_ps(_mm256_loadu_ps(rows[tap] + c + 8), _mm256_loadu_ps(w + 8), t);
            }
            if (bias) {
                s = _mm256_add_ps(s, _mm256_loadu_ps(bias + c));
                t = _mm256_add_ps(t, _mm256_loadu_ps(bias + c + 8));
            }
            _mm256_storeu_ps(output + c, _mm256_min_ps(_mm256_max_ps(s, low), high));
            _mm256_storeu_ps(output + c + 8, _mm256_min_ps(_mm256_max_ps(t, low), high));
        }
        for (; c + 8 <= width; c += 8) {
            __m256 s = _mm256_setzero_ps();
            const float *w = weights + c;
            for (int tap = 0; tap < taps; tap++, w += width) s = _mm256_fmadd_ps(_mm256_loadu_ps(rows[tap] + c), _mm256_loadu_ps(w), s);
            if (bias) s = _mm256_add_ps(s, _mm256_loadu_ps(bias + c));
            _mm256_storeu_ps(output + c, _mm256_min_ps(_mm256_max_ps(s, low), high));
        }
        for (; c < width; c++) {
            float sum = 0;
            for (int tap = 0; tap < taps; tap++) sum = __builtin_fmaf(rows[tap][c], weights[tap * width + c], sum);
            sum += bias ? bias[c] : 0;
            output[c] = sum < lo ? lo : sum > hi ? hi : sum;
        }
    }
}
#endif

void h5t_f32_depthwise(const h5t_depthwise *d, int first, int count, const float *input, const float *padding,
                       const float *weights, const float *bias, float *output, float lo, float hi) {
#ifdef H5T_X86
    if (d->multiplier == 1 && h5t_isa >= H5T_AVX512) return f32_avx512(d, first, count, input, padding, weights, bias, output, lo, hi);
    if (d->multiplier == 1 && h5t_isa == H5T_AVX2) return f32_avx2(d, first, count, input, padding, weights, bias, output, lo, hi);
#endif
    f32_portable(d, first, count, input, weights, bias, output, lo, hi);
}

/* The int8 form. Taps are taken in pairs whose int8 inputs are interleaved as int16 and summed
   with their weights by PMADDWD (two products per int32 lane, as XNNPACK does); an odd last tap
   is paired with zero weights. The input zero point's products are folded into the biases
   (sum (x - zx) w = sum x w - zx sum w), which holds in the padding too because the padding row
   is the zero point: every tap then reads a row, with no test per tap.

   Packed weights, per block of 32 output channels and per pair of taps, are 32 words of two
   int16 weights (the pair's first tap low): words 0-15 hold channels 0-3, 8-11, 16-19, 24-27 of
   the block and words 16-31 channels 4-7, 12-15, 20-23, 28-31, the order in which unpacking the
   two taps' 32 inputs by halves of 128-bit lanes leaves them. The folded biases come first, one
   per channel in natural order (blocks * 32 of them, zero past the width). */
#define DW_BLOCK 32

static inline int dw_pairs(int taps) { return (taps + 1) / 2; }
static inline int dw_blocks(int width) { return (width + DW_BLOCK - 1) / DW_BLOCK; }
/* The word of its block that holds channel r of the block. */
static inline int dw_word(int r) { return (r % 8) / 4 * 16 + r / 8 * 4 + r % 4; }

size_t h5t_qs8_depthwise_packed_words(int taps, int width) {
    return (size_t)dw_blocks(width) * DW_BLOCK * (1 + (size_t)dw_pairs(taps));
}

void h5t_qs8_depthwise_pack(int taps, int width, const int32_t *weights, const int32_t *bias, int32_t input_zero_point,
                            int32_t *packed) {
    int blocks = dw_blocks(width), pairs = dw_pairs(taps);
    for (int o = 0; o < blocks * DW_BLOCK; o++) {
        int32_t sum = 0;
        if (o < width) {
            sum = bias ? bias[o] : 0;
            for (int tap = 0; tap < taps; tap++) sum -= input_zero_point * weights[tap * width + o];
        }
        packed[o] = sum;
    }
    uint32_t *words = (uint32_t *)(packed + (size_t)blocks * DW_BLOCK);
    for (int b = 0; b < blocks; b++) {
        for (int p = 0; p < pairs; p++) {
            for (int r = 0; r < DW_BLOCK; r++) {
                int o = b * DW_BLOCK + r, first = 2 * p, second = 2 * p + 1;
                uint16_t low = o < width ? (uint16_t)weights[first * width + o] : 0;
                uint16_t high = o < width && second < taps ? (uint16_t)weights[second * width + o] : 0;
                words[((size_t)b * pairs + p) * DW_BLOCK + dw_word(r)] = low | (uint32_t)high << 16;
            }
        }
    }
}

/* Each tap's input row for one output pixel (the padding row where the window leaves the
   image), and the padding row again as an odd last tap's partner. */
static inline void dw_rows(const h5t_depthwise *d, int pixel, const int8_t *input, const int8_t *padding,
                           const int8_t **rows) {
    const int32_t *offsets = d->offsets + (ptrdiff_t)pixel * d->taps;
    for (int tap = 0; tap < d->taps; tap++) rows[tap] = offsets[tap] >= 0 ? input + offsets[tap] : padding;
    rows[d->taps] = padding;
}

static void qs8_portable(const h5t_depthwise *d, int first, int count, const int8_t *input, const int8_t *padding,
                         const int32_t *packed, const h5t_requantization *q, void *out) {
    int width = d->channels * d->multiplier, pairs = dw_pairs(d->taps);
    int8_t *output = out;
    int32_t *raw = out;
    const uint32_t *words = (const uint32_t *)(packed + (size_t)dw_blocks(width) * DW_BLOCK);
    const int8_t *rows[d->taps + 1];
    for (int pixel = first; pixel < first + count; pixel++, output += width, raw += width) {
        dw_rows(d, pixel, input, padding, rows);
        for (int o = 0; o < width; o++) {
            const uint32_t *w = words + (size_t)(o / DW_BLOCK) * pairs * DW_BLOCK + dw_word(o % DW_BLOCK);
            int c = input_channel(d, o);
            int32_t sum = packed[o];
            for (int p = 0; p < pairs; p++) {
                sum += rows[2 * p][c] * (int16_t)(w[p * DW_BLOCK] & 0xffff) + rows[2 * p + 1][c] * (int16_t)(w[p * DW_BLOCK] >> 16);
            }
            if (q) {
                output[o] = (int8_t)clamp32(requantize(sum, q->multiplier[o], q->shift[o]) + q->output_zero_point, q->lo, q->hi);
            } else {
                raw[o] = sum;
            }
        }
    }
}

#ifdef H5T_X86
/* Natural channel order from the two accumulators of a block (lanes 16-31 name the second):
   channels 0-15, then 16-31. */
static const int32_t dw_halves[2][16] = {
    {0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23},
    {8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31},
};

H5T_TARGET_AVX512
static inline __mmask16 dw_lanes16(int count) {
    return count >= 16 ? (__mmask16)0xffff : count <= 0 ? 0 : (__mmask16)((1u << count) - 1);
}

H5T_TARGET_AVX512
static void qs8_avx512(const h5t_depthwise *d, int first, int count, const int8_t *input, const int8_t *padding,
                       const int32_t *packed, const h5t_requantization *q, void *out) {
    int8_t *output = out;
    int32_t *raw = out;
    int width = d->channels, pairs = dw_pairs(d->taps), blocks = dw_blocks(width);
    const int32_t *words = packed + (size_t)blocks * DW_BLOCK;
    const __m512i halves[2] = {_mm512_loadu_si512(dw_halves[0]), _mm512_loadu_si512(dw_halves[1])};
    const int8_t *rows[d->taps + 1];
    /* Each 16 channels' requantization, prepared once for all pixels. */
    h5t_requantizer16 requantizers[2 * blocks];
    for (int h = 0; q && h < 2 * blocks; h++) {
        __mmask16 valid = dw_lanes16(width - 16 * h);
        requantizers[h] = requantizer16(_mm512_maskz_loadu_epi32(valid, q->multiplier + 16 * h),
                                        _mm512_maskz_loadu_epi32(valid, q->shift + 16 * h));
    }
    for (int pixel = first; pixel < first + count; pixel++, output += width, raw += width) {
        dw_rows(d, pixel, input, padding, rows);
        for (int b = 0; b < blocks; b++) {
            int c = b * DW_BLOCK, n = width - c < DW_BLOCK ? width - c : DW_BLOCK;
            __mmask32 lanes = n == DW_BLOCK ? 0xffffffffu : (__mmask32)((1u << n) - 1);
            const int32_t *w = words + (size_t)b * pairs * DW_BLOCK;
            __m512i low = _mm512_setzero_si512(), high = _mm512_setzero_si512();
            for (int p = 0; p < pairs; p++, w += DW_BLOCK) {
                __m512i x0 = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(lanes, rows[2 * p] + c));
                __m512i x1 = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(lanes, rows[2 * p + 1] + c));
                low = _mm512_add_epi32(low, _mm512_madd_epi16(_mm512_unpacklo_epi16(x0, x1), _mm512_loadu_si512(w)));
                high = _mm512_add_epi32(high, _mm512_madd_epi16(_mm512_unpackhi_epi16(x0, x1), _mm512_loadu_si512(w + 16)));
            }
            for (int half = 0; half < 2 && 16 * half < n; half++) {
                int o = c + 16 * half;
                __m512i sum = _mm512_permutex2var_epi32(low, halves[half], high);
                sum = _mm512_add_epi32(sum, _mm512_loadu_si512(packed + o));
                if (!q) {
                    _mm512_mask_storeu_epi32(raw + o, dw_lanes16(n - 16 * half), sum);
                    continue;
                }
                store16(requantize16_with(sum, &requantizers[2 * b + half]), q->output_zero_point, q->lo, q->hi,
                        n - 16 * half < 16 ? n - 16 * half : 16, output + o);
            }
        }
    }
}

/* The same on 16-channel halves of each block: the low and high words of half h are the block's
   words 8h..8h+7 and 16+8h..16+8h+7. */
H5T_TARGET_AVX2
static void qs8_avx2(const h5t_depthwise *d, int first, int count, const int8_t *input, const int8_t *padding,
                     const int32_t *packed, const h5t_requantization *q, void *out) {
    int8_t *output = out;
    int32_t *raw = out;
    int width = d->channels, pairs = dw_pairs(d->taps), blocks = dw_blocks(width);
    const int32_t *words = packed + (size_t)blocks * DW_BLOCK;
    const int8_t *rows[d->taps + 1];
    int8_t tail[2][16];
    for (int pixel = first; pixel < first + count; pixel++, output += width, raw += width) {
        dw_rows(d, pixel, input, padding, rows);
        for (int c = 0; c < width; c += 16) {
            int n = width - c < 16 ? width - c : 16, half = c % DW_BLOCK / 16;
            const int32_t *w = words + (size_t)(c / DW_BLOCK) * pairs * DW_BLOCK + 8 * half;
            __m256i low = _mm256_setzero_si256(), high = _mm256_setzero_si256();
            for (int p = 0; p < pairs; p++, w += DW_BLOCK) {
                __m128i a, b;
                if (n == 16) {
                    a = _mm_loadu_si128((const __m128i *)(rows[2 * p] + c));
                    b = _mm_loadu_si128((const __m128i *)(rows[2 * p + 1] + c));
                } else {
                    /* A short last half reads only its channels. */
                    for (int j = 0; j < 16; j++) {
                        tail[0][j] = j < n ? rows[2 * p][c + j] : 0;
                        tail[1][j] = j < n ? rows[2 * p + 1][c + j] : 0;
                    }
                    a = _mm_loadu_si128((const __m128i *)tail[0]);
                    b = _mm_loadu_si128((const __m128i *)tail[1]);
                }
                __m256i x0 = _mm256_cvtepi8_epi16(a), x1 = _mm256_cvtepi8_epi16(b);
                low = _mm256_add_epi32(low, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), _mm256_loadu_si256((const __m256i *)w)));
                high = _mm256_add_epi32(high, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), _mm256_loadu_si256((const __m256i *)(w + 16))));
            }
            /* low holds channels 0-3 and 8-11, high 4-7 and 12-15. */
            __m256i first8 = _mm256_permute2x128_si256(low, high, 0x20), second8 = _mm256_permute2x128_si256(low, high, 0x31);
            for (int part = 0; part < 2 && 8 * part < n; part++) {
                int o = c + 8 * part, valid = n - 8 * part < 8 ? n - 8 * part : 8;
                int32_t m[8] = {0}, shift[8] = {0}, bias[8] = {0};
                for (int j = 0; j < valid; j++) {
                    m[j] = q ? q->multiplier[o + j] : 0;
                    shift[j] = q ? q->shift[o + j] : 0;
                    bias[j] = packed[o + j];
                }
                __m256i sum = _mm256_add_epi32(part ? second8 : first8, _mm256_loadu_si256((const __m256i *)bias));
                if (!q) {
                    int32_t sums[8];
                    _mm256_storeu_si256((__m256i *)sums, sum);
                    for (int j = 0; j < valid; j++) raw[o + j] = sums[j];
                    continue;
                }
                store8(requantize8(sum, _mm256_loadu_si256((const __m256i *)m), _mm256_loadu_si256((const __m256i *)shift)),
                       q->output_zero_point, q->lo, q->hi, valid, output + o);
            }
        }
    }
}
#endif

void h5t_qs8_depthwise(const h5t_depthwise *d, int first, int count, const int8_t *input, const int8_t *padding,
                       const int32_t *packed, const h5t_requantization *requantization, void *output) {
#ifdef H5T_X86
    if (d->multiplier == 1 && h5t_isa >= H5T_AVX512)
        return qs8_avx512(d, first, count, input, padding, packed, requantization, output);
    if (d->multiplier == 1 && h5t_isa == H5T_AVX2)
        return qs8_avx2(d, first, count, input, padding, packed, requantization, output);
#endif
    qs8_portable(d, first, count, input, padding, packed, requantization, output);
}
