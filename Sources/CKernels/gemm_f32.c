/* Float products of input rows and packed weights: h5t_f32_igemm. */
#include "isa.h"

size_t h5t_f32_packed_count(int n, int k) {
    return (size_t)((n + H5T_PANEL - 1) / H5T_PANEL) * H5T_PANEL * ((size_t)k + 1);
}

void h5t_f32_pack(int n, int k, const float *weights, const float *bias, float *packed) {
    for (int first = 0; first < n; first += H5T_PANEL) {
        for (int j = 0; j < H5T_PANEL; j++) {
            *packed++ = first + j < n && bias ? bias[first + j] : 0;
        }
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < H5T_PANEL; j++) {
                *packed++ = first + j < n ? weights[(size_t)(first + j) * k + i] : 0;
            }
        }
    }
}

/* What one block of rows reads: the product's operands without the block's position. */
typedef struct {
    int taps, channels;
    const float *input;
    const int32_t *offsets;
    ptrdiff_t row_stride;
    const float *padding;
    ptrdiff_t output_stride;
    float lo, hi;
} f32_product;

/* Where row `row` reads tap `tap`. */
static inline const float *row_input(const f32_product *p, int row, int tap) {
    if (!p->offsets) return p->input + row * p->row_stride;
    int32_t offset = p->offsets[(ptrdiff_t)row * p->taps + tap];
    return offset < 0 ? p->padding : p->input + offset;
}

/* The accumulators are named variables, not arrays: compilers keep arrays of vectors in memory
   across the loop and store them on every step. */
#define REPEAT4(X) X(0) X(1) X(2) X(3)
#define REPEAT6(X) REPEAT4(X) X(4) X(5)
#define REPEAT8(X) REPEAT6(X) X(6) X(7)
/* Rows past the block's end (mr < MR) read its last row; their sums are not stored. */
#define ROW_POINTER(r) const float *a##r = row_input(p, row + (r < mr ? r : mr - 1), tap);

/* Four-float vectors of the compiler's own (SSE, NEON, or scalar code): four rows of a panel
   in sixteen sums. */
typedef float f32x4 __attribute__((vector_size(16)));

/* A fused multiply-add, as the vector kernels do it, so that every variant rounds alike and a
   conversion calibrated on one machine writes the same file on another. */
static inline f32x4 fma4(f32x4 a, f32x4 b, f32x4 c) {
#if __has_builtin(__builtin_elementwise_fma)
    return __builtin_elementwise_fma(a, b, c);
#else
    f32x4 r;
    for (int i = 0; i < 4; i++) r[i] = __builtin_fmaf(a[i], b[i], c[i]);
    return r;
#endif
}

static inline f32x4 load4(const float *x) {
    f32x4 v;
    __builtin_memcpy(&v, x, sizeof v);
    return v;
}

#define PORTABLE_ROWS 4

static void block_portable(const f32_product *p, int row, int mr, int nc, const float *w, float *out) {
#define DECLARE(r) f32x4 s##r##0 = load4(w), s##r##1 = load4(w + 4), s##r##2 = load4(w + 8), s##r##3 = load4(w + 12);
    REPEAT4(DECLARE)
#undef DECLARE
    w += H5T_PANEL;
    for (int tap = 0; tap < p->taps; tap++) {
        REPEAT4(ROW_POINTER)
        for (int c = 0; c < p->channels; c++, w += H5T_PANEL) {
            f32x4 w0 = load4(w), w1 = load4(w + 4), w2 = load4(w + 8), w3 = load4(w + 12);
#define STEP(r)                      \
            {                        \
                f32x4 x = {a##r[c], a##r[c], a##r[c], a##r[c]}; \
                s##r##0 = fma4(x, w0, s##r##0); \
                s##r##1 = fma4(x, w1, s##r##1); \
                s##r##2 = fma4(x, w2, s##r##2); \
                s##r##3 = fma4(x, w3, s##r##3); \
            }
            REPEAT4(STEP)
#undef STEP
        }
    }
    float sums[PORTABLE_ROWS][H5T_PANEL];
#define SPILL(r)                                        \
    __builtin_memcpy(sums[r], &s##r##0, sizeof(f32x4)); \
    __builtin_memcpy(sums[r] + 4, &s##r##1, sizeof(f32x4)); \
    __builtin_memcpy(sums[r] + 8, &s##r##2, sizeof(f32x4)); \
    __builtin_memcpy(sums[r] + 12, &s##r##3, sizeof(f32x4));
    REPEAT4(SPILL)
#undef SPILL
    for (int r = 0; r < mr; r++) {
        for (int j = 0; j < nc; j++) {
            float v = sums[r][j];
            out[r * p->output_stride + j] = v < p->lo ? p->lo : v > p->hi ? p->hi : v;
        }
    }
}

#ifdef H5T_X86

#define AVX2_ROWS 6

H5T_TARGET_AVX2
static void block_avx2(const f32_product *p, int row, int mr, int nc, const float *w, float *out) {
#define DECLARE(r) __m256 low##r = _mm256_loadu_ps(w), high##r = _mm256_loadu_ps(w + 8);
    REPEAT6(DECLARE)
#undef DECLARE
    w += H5T_PANEL;
    for (int tap = 0; tap < p->taps; tap++) {
        REPEAT6(ROW_POINTER)
        for (int c = 0; c < p->channels; c++, w += H5T_PANEL) {
            __m256 wl = _mm256_loadu_ps(w), wh = _mm256_loadu_ps(w + 8);
#define STEP(r)                                         \
            {                                           \
                __m256 x = _mm256_broadcast_ss(a##r + c); \
                low##r = _mm256_fmadd_ps(x, wl, low##r);  \
                high##r = _mm256_fmadd_ps(x, wh, high##r); \
            }
            REPEAT6(STEP)
#undef STEP
        }
    }
    __m256 lo = _mm256_set1_ps(p->lo), hi = _mm256_set1_ps(p->hi);
    __m256 low[AVX2_ROWS] = {low0, low1, low2, low3, low4, low5};
    __m256 high[AVX2_ROWS] = {high0, high1, high2, high3, high4, high5};
    for (int r = 0; r < mr; r++) {
        float *target = out + r * p->output_stride;
        __m256 l = _mm256_min_ps(_mm256_max_ps(low[r], lo), hi), h = _mm256_min_ps(_mm256_max_ps(high[r], lo), hi);
        if (nc == H5T_PANEL) {
            _mm256_storeu_ps(target, l);
            _mm256_storeu_ps(target + 8, h);
        } else {
            float sums[H5T_PANEL];
            _mm256_storeu_ps(sums, l);
            _mm256_storeu_ps(sums + 8, h);
            for (int j = 0; j < nc; j++) target[j] = sums[j];
        }
    }
}

#define AVX512_ROWS 8

H5T_TARGET_AVX512
static void block_avx512(const f32_product *p, int row, int mr, int nc, const float *w, float *out) {
#define DECLARE(r) __m512 s##r = _mm512_loadu_ps(w);
    REPEAT8(DECLARE)
#undef DECLARE
    w += H5T_PANEL;
    for (int tap = 0; tap < p->taps; tap++) {
        REPEAT8(ROW_POINTER)
        for (int c = 0; c < p->channels; c++, w += H5T_PANEL) {
            __m512 weights = _mm512_loadu_ps(w);
#define STEP(r) s##r = _mm512_fmadd_ps(_mm512_set1_ps(a##r[c]), weights, s##r);
            REPEAT8(STEP)
#undef STEP
        }
    }
    __m512 lo = _mm512_set1_ps(p->lo), hi = _mm512_set1_ps(p->hi);
    __m512 sums[AVX512_ROWS] = {s0, s1, s2, s3, s4, s5, s6, s7};
    __mmask16 mask = (__mmask16)((1u << nc) - 1);
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(out + r * p->output_stride, mask, _mm512_min_ps(_mm512_max_ps(sums[r], lo), hi));
    }
}

/* Two panels at once (w and w + panel): twelve sums from six broadcasts and two loads, where
   one panel needs a load per sum; the loads, not the multiplications, bound one panel. */
#define WIDE_ROWS 6

H5T_TARGET_AVX512
static void block_avx512_wide(const f32_product *p, int row, int mr, int nc, const float *w, size_t panel, float *out) {
    const float *v = w + panel;
#define DECLARE(r) __m512 s##r = _mm512_loadu_ps(w), t##r = _mm512_loadu_ps(v);
    REPEAT6(DECLARE)
#undef DECLARE
    w += H5T_PANEL;
    v += H5T_PANEL;
    for (int tap = 0; tap < p->taps; tap++) {
        REPEAT6(ROW_POINTER)
        for (int c = 0; c < p->channels; c++, w += H5T_PANEL, v += H5T_PANEL) {
            __m512 first = _mm512_loadu_ps(w), second = _mm512_loadu_ps(v);
#define STEP(r)                                          \
            {                                            \
                __m512 x = _mm512_set1_ps(a##r[c]);      \
                s##r = _mm512_fmadd_ps(x, first, s##r);  \
                t##r = _mm512_fmadd_ps(x, second, t##r); \
            }
            REPEAT6(STEP)
#undef STEP
        }
    }
    __m512 lo = _mm512_set1_ps(p->lo), hi = _mm512_set1_ps(p->hi);
    __m512 firsts[WIDE_ROWS] = {s0, s1, s2, s3, s4, s5}, seconds[WIDE_ROWS] = {t0, t1, t2, t3, t4, t5};
    __mmask16 mask = (__mmask16)((1u << (nc - H5T_PANEL)) - 1);
    for (int r = 0; r < mr; r++) {
        float *target = out + r * p->output_stride;
        _mm512_storeu_ps(target, _mm512_min_ps(_mm512_max_ps(firsts[r], lo), hi));
        _mm512_mask_storeu_ps(target + H5T_PANEL, mask, _mm512_min_ps(_mm512_max_ps(seconds[r], lo), hi));
    }
}
#endif

void h5t_f32_igemm(int m, int n, int taps, int channels, const float *input, const int32_t *offsets,
                   ptrdiff_t row_stride, const float *padding, const float *packed, float *output,
                   ptrdiff_t output_stride, float lo, float hi) {
    f32_product p = {taps, channels, input, offsets, row_stride, padding, output_stride, lo, hi};
    void (*block)(const f32_product *, int, int, int, const float *, float *) = block_portable;
    int rows = PORTABLE_ROWS;
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX512) {
        block = block_avx512;
        rows = AVX512_ROWS;
    } else if (h5t_isa == H5T_AVX2) {
        block = block_avx2;
        rows = AVX2_ROWS;
    }
#endif
    size_t panel = (size_t)H5T_PANEL * ((size_t)taps * channels + 1);
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX512 && n > H5T_PANEL) {
        int pairs = n / (2 * H5T_PANEL) * 2 * H5T_PANEL;
        if (n - pairs > H5T_PANEL) pairs = n;
        for (int row = 0; row < m; row += WIDE_ROWS) {
            int mr = m - row < WIDE_ROWS ? m - row : WIDE_ROWS;
            for (int first = 0; first < pairs; first += 2 * H5T_PANEL) {
                int nc = pairs - first < 2 * H5T_PANEL ? pairs - first : 2 * H5T_PANEL;
                block_avx512_wide(&p, row, mr, nc, packed + (first / H5T_PANEL) * panel, panel, output + row * output_stride + first);
            }
        }
        if (pairs == n) return;
        packed += (pairs / H5T_PANEL) * panel;
        output += pairs;
        n -= pairs;
    }
#endif
    for (int row = 0; row < m; row += rows) {
        int mr = m - row < rows ? m - row : rows;
        for (int first = 0; first < n; first += H5T_PANEL) {
            int nc = n - first < H5T_PANEL ? n - first : H5T_PANEL;
            block(&p, row, mr, nc, packed + (first / H5T_PANEL) * panel, output + row * output_stride + first);
        }
    }
}
