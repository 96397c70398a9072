/* Integer products of int8 input rows and packed weights, summed exactly in int32:
   h5t_qs8_igemm. Inputs are staged once per run in the layout the kernels multiply (see
   h5t_qs8_layout), each pixel's channels rounded up to a group; weights are packed in groups of
   the same size for sixteen channels, so that one instruction multiplies a group of inputs by a
   group of weights for sixteen channels and adds the products to their sums. No product or sum
   can overflow (|x|, |w| <= 255 and far fewer than 2^15 products). */
#include "requantize.h"

/* Inputs summed by one instruction per lane. */
static int group(h5t_qs8_layout layout) { return layout == H5T_QUADS ? 4 : 2; }

static int groups(h5t_qs8_layout layout, int channels) { return (channels + group(layout) - 1) / group(layout); }

/* Bytes one staged input takes. */
static int element_bytes(h5t_qs8_layout layout) { return layout == H5T_QUADS ? 1 : 2; }

h5t_qs8_layout h5t_qs8_choose_layout(const int16_t *weights, size_t count) {
    if (h5t_isa != H5T_AVX512_VNNI) return H5T_PAIRS;
    for (size_t i = 0; i < count; i++) {
        if (weights[i] < -128 || weights[i] > 127) return H5T_PAIRS;
    }
    return H5T_QUADS;
}

size_t h5t_qs8_staged_pixel_bytes(h5t_qs8_layout layout, int channels) {
    return (size_t)groups(layout, channels) * group(layout) * element_bytes(layout);
}

/* Per panel: sixteen int32 sums to start from, then per tap and channel group sixteen groups of
   weights (int16 or int8), one group per channel: 64 bytes. */
static size_t panel_bytes(h5t_qs8_layout layout, int taps, int channels) {
    return H5T_PANEL * sizeof(int32_t) + (size_t)taps * groups(layout, channels) * 64;
}

size_t h5t_qs8_packed_bytes(h5t_qs8_layout layout, int n, int taps, int channels) {
    return (size_t)((n + H5T_PANEL - 1) / H5T_PANEL) * panel_bytes(layout, taps, channels);
}

/* Quads hold inputs offset by 128 (as unsigned bytes), so the biases also take away 128 * sum w. */
void h5t_qs8_pack(h5t_qs8_layout layout, int n, int taps, int channels, const int16_t *weights,
                  const int32_t *bias, int32_t input_zero_point, void *packed) {
    int k = taps * channels, size = group(layout);
    int32_t offset = input_zero_point + (layout == H5T_QUADS ? 128 : 0);
    for (int first = 0; first < n; first += H5T_PANEL) {
        uint8_t *panel = (uint8_t *)packed + (size_t)(first / H5T_PANEL) * panel_bytes(layout, taps, channels);
        int32_t *start = (int32_t *)panel;
        int16_t *pairs = (int16_t *)(panel + H5T_PANEL * sizeof(int32_t));
        int8_t *quads = (int8_t *)(panel + H5T_PANEL * sizeof(int32_t));
        for (int j = 0; j < H5T_PANEL; j++) {
            int32_t sum = 0;
            for (int i = 0; first + j < n && i < k; i++) sum += weights[(size_t)(first + j) * k + i];
            start[j] = first + j < n ? (bias ? bias[first + j] : 0) - offset * sum : 0;
        }
        for (int tap = 0; tap < taps; tap++) {
            for (int g = 0; g < groups(layout, channels); g++) {
                for (int j = 0; j < H5T_PANEL; j++) {
                    for (int e = 0; e < size; e++) {
                        int c = g * size + e;
                        int16_t w = first + j < n && c < channels ? weights[(size_t)(first + j) * k + tap * channels + c] : 0;
                        if (layout == H5T_QUADS) *quads++ = (int8_t)w; else *pairs++ = w;
                    }
                }
            }
        }
    }
}

void h5t_qs8_stage(h5t_qs8_layout layout, int pixels, int channels, const int8_t *input, int32_t zero_point,
                   void *staged) {
    int width = groups(layout, channels) * group(layout);
    if (layout == H5T_QUADS) {
        uint8_t *target = staged;
        for (int pixel = 0; pixel < pixels; pixel++, input += channels, target += width) {
            for (int c = 0; c < channels; c++) target[c] = (uint8_t)(input[c] + 128);
            for (int c = channels; c < width; c++) target[c] = (uint8_t)(zero_point + 128);
        }
        return;
    }
    int16_t *target = staged;
    for (int pixel = 0; pixel < pixels; pixel++, input += channels, target += width) {
        for (int c = 0; c < channels; c++) target[c] = input[c];
        for (int c = channels; c < width; c++) target[c] = (int16_t)zero_point;
    }
}

typedef struct {
    int taps, groups;
    const uint8_t *input;
    const int32_t *offsets;
    ptrdiff_t row_stride;
    const uint8_t *padding;
    const h5t_requantization *requantization;
    ptrdiff_t output_stride;
} qs8_product;

/* Where row `row` reads tap `tap` (offsets in bytes). */
static inline const uint8_t *row_input(const qs8_product *p, int row, int tap) {
    if (!p->offsets) return p->input + row * p->row_stride;
    int32_t offset = p->offsets[(ptrdiff_t)row * p->taps + tap];
    return offset < 0 ? p->padding : p->input + offset;
}

/* Rows `mr` of sums for channels `first`..first+nc, requantized into the output. */
static void finish_portable(const qs8_product *p, int mr, int nc, int first, const int32_t sums[][H5T_PANEL], int8_t *out) {
    const h5t_requantization *q = p->requantization;
    for (int r = 0; r < mr; r++) {
        for (int j = 0; j < nc; j++) {
            int32_t v = requantize(sums[r][j], q->multiplier[first + j], q->shift[first + j]) + q->output_zero_point;
            out[r * p->output_stride + j] = (int8_t)clamp32(v, q->lo, q->hi);
        }
    }
}

#define REPEAT4(X) X(0) X(1) X(2) X(3)
#define REPEAT6(X) REPEAT4(X) X(4) X(5)
#define REPEAT8(X) REPEAT6(X) X(6) X(7)
/* Rows past the block's end (mr < MR) read its last row; their sums are not stored. */
#define ROW_POINTER(r) const uint8_t *a##r = row_input(p, row + (r < mr ? r : mr - 1), tap);
/* One group of staged inputs (a pair or a quad) as the 32 bits that broadcast to every lane. */
#define GROUP(r) (*(const int32_t *)(a##r + 4 * g))

typedef int32_t i32x4 __attribute__((vector_size(16)));
typedef int16_t i16x4 __attribute__((vector_size(8)));

static inline i32x4 widen4(const int16_t *x) {
    i16x4 v;
    __builtin_memcpy(&v, x, sizeof v);
    return __builtin_convertvector(v, i32x4);
}

#define PORTABLE_ROWS 4

static void block_portable(const qs8_product *p, int row, int mr, int nc, int first, const uint8_t *panel, int8_t *out) {
    int32_t sums[PORTABLE_ROWS][H5T_PANEL];
    const int32_t *start = (const int32_t *)panel;
    for (int r = 0; r < PORTABLE_ROWS; r++)
        for (int j = 0; j < H5T_PANEL; j++) sums[r][j] = start[j];
    const int16_t *w = (const int16_t *)(panel + H5T_PANEL * sizeof(int32_t));
    
    for (int tap = 0; tap < p->taps; tap++) {
        REPEAT4(ROW_POINTER)
        const int16_t *rows[PORTABLE_ROWS] = {(const int16_t *)a0, (const int16_t *)a1, (const int16_t *)a2, (const int16_t *)a3};
        for (int g = 0; g < p->groups; g++, w += 2 * H5T_PANEL) {
            for (int r = 0; r < PORTABLE_ROWS; r++) {
                int32_t x0 = rows[r][2 * g], x1 = rows[r][2 * g + 1];
                for (int j = 0; j < H5T_PANEL; j++) sums[r][j] += x0 * w[2 * j] + x1 * w[2 * j + 1];
            }
        }
    }
    finish_portable(p, mr, nc, first, (const int32_t(*)[H5T_PANEL])sums, out);
}

#ifdef H5T_X86
/* Channels first..first+count of the per-channel multipliers and shifts, zero past count. */
H5T_TARGET_AVX2
static inline void load_requantization8(const h5t_requantization *q, int first, int count, __m256i *m, __m256i *shift) {
    int32_t multipliers[8] = {0}, shifts[8] = {0};
    for (int j = 0; j < count && j < 8; j++) {
        multipliers[j] = q->multiplier[first + j];
        shifts[j] = q->shift[first + j];
    }
    *m = _mm256_loadu_si256((const __m256i *)multipliers);
    *shift = _mm256_loadu_si256((const __m256i *)shifts);
}

#define AVX2_ROWS 6

H5T_TARGET_AVX2
static void block_avx2(const qs8_product *p, int row, int mr, int nc, int first, const uint8_t *panel, int8_t *out) {
    __m256i low0 = _mm256_loadu_si256((const __m256i *)panel), high0 = _mm256_loadu_si256((const __m256i *)panel + 1);
#define DECLARE(r) __m256i low##r = low0, high##r = high0;
    DECLARE(1) DECLARE(2) DECLARE(3) DECLARE(4) DECLARE(5)
#undef DECLARE
    const int16_t *w = (const int16_t *)(panel + H5T_PANEL * sizeof(int32_t));
    
    for (int tap = 0; tap < p->taps; tap++) {
        REPEAT6(ROW_POINTER)
        for (int g = 0; g < p->groups; g++, w += 2 * H5T_PANEL) {
            __m256i wl = _mm256_loadu_si256((const __m256i *)w), wh = _mm256_loadu_si256((const __m256i *)w + 1);
#define STEP(r)                                                            \
            {                                                              \
                __m256i x = _mm256_set1_epi32(GROUP(r));                    \
                low##r = _mm256_add_epi32(low##r, _mm256_madd_epi16(x, wl));   \
                high##r = _mm256_add_epi32(high##r, _mm256_madd_epi16(x, wh)); \
            }
            REPEAT6(STEP)
#undef STEP
        }
    }
    __m256i lows[AVX2_ROWS] = {low0, low1, low2, low3, low4, low5};
    __m256i highs[AVX2_ROWS] = {high0, high1, high2, high3, high4, high5};
    const h5t_requantization *q = p->requantization;
    __m256i m_low, shift_low, m_high, shift_high;
    load_requantization8(q, first, nc, &m_low, &shift_low);
    load_requantization8(q, first + 8, nc - 8, &m_high, &shift_high);
    for (int r = 0; r < mr; r++) {
        int8_t *target = out + r * p->output_stride;
        store8(requantize8(lows[r], m_low, shift_low), q->output_zero_point, q->lo, q->hi, nc < 8 ? nc : 8, target);
        if (nc > 8) store8(requantize8(highs[r], m_high, shift_high), q->output_zero_point, q->lo, q->hi, nc - 8, target + 8);
    }
}

#define AVX512_ROWS 8

/* VNNI's VPDPWSSD is PMADDWD and the addition in one instruction, with the same result. */
#define AVX512_BLOCK(NAME, TARGET, MULTIPLY_ADD)                                                        \
TARGET                                                                                                  \
static void NAME(const qs8_product *p, int row, int mr, int nc, int first, const uint8_t *panel, int8_t *out) { \
    __m512i s0 = _mm512_loadu_si512(panel);                                                             \
    __m512i s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;                              \
    const int16_t *w = (const int16_t *)(panel + H5T_PANEL * sizeof(int32_t));                          \
                                                                 \
    for (int tap = 0; tap < p->taps; tap++) {                                                           \
        REPEAT8(ROW_POINTER)                                                                            \
        for (int g = 0; g < p->groups; g++, w += 2 * H5T_PANEL) {                          \
            __m512i weights = _mm512_loadu_si512(w);                                                    \
            s0 = MULTIPLY_ADD(s0, _mm512_set1_epi32(GROUP(0)), weights);                                 \
            s1 = MULTIPLY_ADD(s1, _mm512_set1_epi32(GROUP(1)), weights);                                 \
            s2 = MULTIPLY_ADD(s2, _mm512_set1_epi32(GROUP(2)), weights);                                 \
            s3 = MULTIPLY_ADD(s3, _mm512_set1_epi32(GROUP(3)), weights);                                 \
            s4 = MULTIPLY_ADD(s4, _mm512_set1_epi32(GROUP(4)), weights);                                 \
            s5 = MULTIPLY_ADD(s5, _mm512_set1_epi32(GROUP(5)), weights);                                 \
            s6 = MULTIPLY_ADD(s6, _mm512_set1_epi32(GROUP(6)), weights);                                 \
            s7 = MULTIPLY_ADD(s7, _mm512_set1_epi32(GROUP(7)), weights);                                 \
        }                                                                                               \
    }                                                                                                   \
    __m512i sums[AVX512_ROWS] = {s0, s1, s2, s3, s4, s5, s6, s7};                                       \
    const h5t_requantization *q = p->requantization;                                                    \
    __mmask16 lanes = (__mmask16)((1u << nc) - 1);                                                      \
    __m512i m = _mm512_maskz_loadu_epi32(lanes, q->multiplier + first);                                 \
    __m512i shift = _mm512_maskz_loadu_epi32(lanes, q->shift + first);                                  \
    for (int r = 0; r < mr; r++) {                                                                      \
        store16(requantize16(sums[r], m, shift), q->output_zero_point, q->lo, q->hi, nc, out + r * p->output_stride); \
    }                                                                                                   \
}

/* Two panels at once (`panel` and panel + size): twelve sums from six broadcasts and two loads,
   enough independent sums to hide the latency of each multiply-add. */
#define WIDE_ROWS 6
#define AVX512_WIDE_BLOCK(NAME, TARGET, MULTIPLY_ADD)                                                   \
TARGET                                                                                                  \
static void NAME(const qs8_product *p, int row, int mr, int nc, int first, const uint8_t *panel, size_t size, int8_t *out) { \
    __m512i s0 = _mm512_loadu_si512(panel), t0 = _mm512_loadu_si512(panel + size);                      \
    __m512i s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, t1 = t0, t2 = t0, t3 = t0, t4 = t0, t5 = t0;   \
    const int16_t *w = (const int16_t *)(panel + H5T_PANEL * sizeof(int32_t));                          \
    const int16_t *v = (const int16_t *)(panel + size + H5T_PANEL * sizeof(int32_t));                   \
                                                                 \
    for (int tap = 0; tap < p->taps; tap++) {                                                           \
        REPEAT6(ROW_POINTER)                                                                            \
        for (int g = 0; g < p->groups; g++, w += 2 * H5T_PANEL, v += 2 * H5T_PANEL) {      \
            __m512i wf = _mm512_loadu_si512(w), ws = _mm512_loadu_si512(v), x;                          \
            x = _mm512_set1_epi32(GROUP(0)); s0 = MULTIPLY_ADD(s0, x, wf); t0 = MULTIPLY_ADD(t0, x, ws); \
            x = _mm512_set1_epi32(GROUP(1)); s1 = MULTIPLY_ADD(s1, x, wf); t1 = MULTIPLY_ADD(t1, x, ws); \
            x = _mm512_set1_epi32(GROUP(2)); s2 = MULTIPLY_ADD(s2, x, wf); t2 = MULTIPLY_ADD(t2, x, ws); \
            x = _mm512_set1_epi32(GROUP(3)); s3 = MULTIPLY_ADD(s3, x, wf); t3 = MULTIPLY_ADD(t3, x, ws); \
            x = _mm512_set1_epi32(GROUP(4)); s4 = MULTIPLY_ADD(s4, x, wf); t4 = MULTIPLY_ADD(t4, x, ws); \
            x = _mm512_set1_epi32(GROUP(5)); s5 = MULTIPLY_ADD(s5, x, wf); t5 = MULTIPLY_ADD(t5, x, ws); \
        }                                                                                               \
    }                                                                                                   \
    __m512i firsts[WIDE_ROWS] = {s0, s1, s2, s3, s4, s5}, seconds[WIDE_ROWS] = {t0, t1, t2, t3, t4, t5}; \
    const h5t_requantization *q = p->requantization;                                                    \
    __mmask16 lanes = (__mmask16)((1u << (nc - H5T_PANEL)) - 1);                                        \
    __m512i m = _mm512_loadu_si512(q->multiplier + first), shift = _mm512_loadu_si512(q->shift + first); \
    __m512i m2 = _mm512_maskz_loadu_epi32(lanes, q->multiplier + first + H5T_PANEL);                    \
    __m512i shift2 = _mm512_maskz_loadu_epi32(lanes, q->shift + first + H5T_PANEL);                     \
    for (int r = 0; r < mr; r++) {                                                                      \
        int8_t *target = out + r * p->output_stride;                                                    \
        store16(requantize16(firsts[r], m, shift), q->output_zero_point, q->lo, q->hi, H5T_PANEL, target); \
        store16(requantize16(seconds[r], m2, shift2), q->output_zero_point, q->lo, q->hi, nc - H5T_PANEL, target + H5T_PANEL); \
    }                                                                                                   \
}

#define MADD_ADD(s, x, w) _mm512_add_epi32(s, _mm512_madd_epi16(x, w))
AVX512_BLOCK(block_avx512, H5T_TARGET_AVX512, MADD_ADD)
AVX512_BLOCK(block_avx512_vnni, H5T_TARGET_AVX512_VNNI, _mm512_dpwssd_epi32)
AVX512_WIDE_BLOCK(wide_avx512, H5T_TARGET_AVX512, MADD_ADD)
AVX512_WIDE_BLOCK(wide_avx512_vnni, H5T_TARGET_AVX512_VNNI, _mm512_dpwssd_epi32)
AVX512_BLOCK(block_quads, H5T_TARGET_AVX512_VNNI, _mm512_dpbusd_epi32)
AVX512_WIDE_BLOCK(wide_quads, H5T_TARGET_AVX512_VNNI, _mm512_dpbusd_epi32)
#endif

void h5t_qs8_igemm(h5t_qs8_layout layout, int m, int n, int taps, int channels, const void *staged,
                   const int32_t *offsets, ptrdiff_t row_stride, const void *padding, const void *packed,
                   const h5t_requantization *requantization, int8_t *output, ptrdiff_t output_stride) {
    qs8_product p = {taps, groups(layout, channels), staged, offsets, row_stride, padding, requantization, output_stride};
    void (*block)(const qs8_product *, int, int, int, int, const uint8_t *, int8_t *) = block_portable;
    void (*wide)(const qs8_product *, int, int, int, int, const uint8_t *, size_t, int8_t *) = NULL;
    int rows = PORTABLE_ROWS;
#ifdef H5T_X86
    if (layout == H5T_QUADS) {
        block = block_quads;
        wide = wide_quads;
        rows = AVX512_ROWS;
    } else if (h5t_isa == H5T_AVX512_VNNI) {
        block = block_avx512_vnni;
        wide = wide_avx512_vnni;
        rows = AVX512_ROWS;
    } else if (h5t_isa == H5T_AVX512) {
        block = block_avx512;
        wide = wide_avx512;
        rows = AVX512_ROWS;
    } else if (h5t_isa == H5T_AVX2) {
        block = block_avx2;
        rows = AVX2_ROWS;
    }
#endif
    size_t panel = panel_bytes(layout, taps, channels);
#ifdef H5T_X86
    if (wide && n > H5T_PANEL) {
        /* Pairs of panels, the last pair possibly partial; a last single panel is left below. */
        int paired = n / (2 * H5T_PANEL) * 2 * H5T_PANEL;
        if (n - paired > H5T_PANEL) paired = n;
        for (int row = 0; row < m; row += WIDE_ROWS) {
            int mr = m - row < WIDE_ROWS ? m - row : WIDE_ROWS;
            for (int first = 0; first < paired; first += 2 * H5T_PANEL) {
                int nc = paired - first < 2 * H5T_PANEL ? paired - first : 2 * H5T_PANEL;
                wide(&p, row, mr, nc, first, (const uint8_t *)packed + (first / H5T_PANEL) * panel, panel,
                     output + row * output_stride + first);
            }
        }
        if (paired == n) return;
        for (int row = 0; row < m; row += rows) {
            int mr = m - row < rows ? m - row : rows;
            block(&p, row, mr, n - paired, paired, (const uint8_t *)packed + (paired / H5T_PANEL) * panel,
                  output + row * output_stride + paired);
        }
        return;
    }
#endif
    for (int row = 0; row < m; row += rows) {
        int mr = m - row < rows ? m - row : rows;
        for (int first = 0; first < n; first += H5T_PANEL) {
            int nc = n - first < H5T_PANEL ? n - first : H5T_PANEL;
            block(&p, row, mr, nc, first, (const uint8_t *)packed + (first / H5T_PANEL) * panel,
                  output + row * output_stride + first);
        }
    }
}
