/* MAX_POOL_2D and AVERAGE_POOL_2D over a range of output rows, as TFLite computes them: the window
   clipped to the input, an average divided by the pixels under the clipped window. Each output
   pixel adds whole input pixels, channels innermost; one loop body compiled for each instruction
   set, which the compiler vectorizes. */
#include "requantize.h"

static inline int clip(int x, int size) { return x < 0 ? 0 : x > size ? size : x; }

/* The input rows (or columns) under output row `y` (column), clipped to the input. */
static inline void window_span(int y, int stride, int pad, int window, int size, int *first, int *end) {
    int start = y * stride - pad;
    *first = clip(start, size);
    *end = clip(start + window, size);
}

static inline __attribute__((always_inline)) void f32_rows(const h5t_pool *p, int first, int count, const float *input,
                                                             float *output, float lo, float hi) {
    int channels = p->channels;
    for (int y = first; y < first + count; y++) {
        int y0, y1;
        window_span(y, p->stride_height, p->pad_top, p->window_height, p->input_height, &y0, &y1);
        for (int x = 0; x < p->output_width; x++) {
            int x0, x1;
            window_span(x, p->stride_width, p->pad_left, p->window_width, p->input_width, &x0, &x1);
            float *out = output + ((size_t)(y - first) * p->output_width + x) * channels;
            for (int c = 0; c < channels; c++) out[c] = p->is_max ? -__FLT_MAX__ : 0;
            for (int iy = y0; iy < y1; iy++) {
                for (int ix = x0; ix < x1; ix++) {
                    const float *in = input + ((size_t)iy * p->input_width + ix) * channels;
                    if (p->is_max) {
                        for (int c = 0; c < channels; c++) out[c] = out[c] > in[c] ? out[c] : in[c];
                    } else {
                        for (int c = 0; c < channels; c++) out[c] += in[c];
                    }
                }
            }
            float pixels = (float)((y1 - y0) * (x1 - x0));
            for (int c = 0; c < channels; c++) {
                float v = p->is_max ? out[c] : out[c] / pixels;
                out[c] = v < lo ? lo : v > hi ? hi : v;
            }
        }
    }
}

/* Averages round as TFLite's (sum +- pixels / 2) / pixels, computed in doubles: exact for int32
   sums over fewer than 2^22 pixels, since a quotient that is not whole lies 1 / pixels from one. */
static inline __attribute__((always_inline)) void qs8_rows(const h5t_pool *p, int first, int count, const int8_t *input,
                                                             int8_t *output, int32_t *totals, int32_t lo, int32_t hi) {
    int channels = p->channels;
    for (int y = first; y < first + count; y++) {
        int y0, y1;
        window_span(y, p->stride_height, p->pad_top, p->window_height, p->input_height, &y0, &y1);
        for (int x = 0; x < p->output_width; x++) {
            int x0, x1;
            window_span(x, p->stride_width, p->pad_left, p->window_width, p->input_width, &x0, &x1);
            for (int c = 0; c < channels; c++) totals[c] = p->is_max ? -128 : 0;
            for (int iy = y0; iy < y1; iy++) {
                for (int ix = x0; ix < x1; ix++) {
                    const int8_t *in = input + ((size_t)iy * p->input_width + ix) * channels;
                    if (p->is_max) {
                        for (int c = 0; c < channels; c++) totals[c] = totals[c] > in[c] ? totals[c] : in[c];
                    } else {
                        for (int c = 0; c < channels; c++) totals[c] += in[c];
                    }
                }
            }
            int32_t pixels = (y1 - y0) * (x1 - x0), half = pixels / 2;
            int8_t *out = output + ((size_t)(y - first) * p->output_width + x) * channels;
            for (int c = 0; c < channels; c++) {
                int32_t v = totals[c];
                if (!p->is_max && pixels > 0) v = (int32_t)((double)(v > 0 ? v + half : v - half) / (double)pixels);
                out[c] = (int8_t)clamp32(v, lo, hi);
            }
        }
    }
}

#ifdef H5T_X86
H5T_TARGET_AVX512
static void f32_avx512(const h5t_pool *p, int first, int count, const float *input, float *output, float lo, float hi) {
    f32_rows(p, first, count, input, output, lo, hi);
}
H5T_TARGET_AVX2
static void f32_avx2(const h5t_pool *p, int first, int count, const float *input, float *output, float lo, float hi) {
    f32_rows(p, first, count, input, output, lo, hi);
}
H5T_TARGET_AVX512
static void qs8_avx512(const h5t_pool *p, int first, int count, const int8_t *input, int8_t *output, int32_t *totals, int32_t lo, int32_t hi) {
    qs8_rows(p, first, count, input, output, totals, lo, hi);
}
H5T_TARGET_AVX2
static void qs8_avx2(const h5t_pool *p, int first, int count, const int8_t *input, int8_t *output, int32_t *totals, int32_t lo, int32_t hi) {
    qs8_rows(p, first, count, input, output, totals, lo, hi);
}
#endif

void h5t_f32_pool(const h5t_pool *p, int first, int count, const float *input, float *output, float lo, float hi) {
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX512) return f32_avx512(p, first, count, input, output, lo, hi);
    if (h5t_isa == H5T_AVX2) return f32_avx2(p, first, count, input, output, lo, hi);
#endif
    f32_rows(p, first, count, input, output, lo, hi);
}

void h5t_qs8_pool(const h5t_pool *p, int first, int count, const int8_t *input, int8_t *output, int32_t *totals,
                  int32_t lo, int32_t hi) {
#ifdef H5T_X86
    if (h5t_isa >= H5T_AVX512) return qs8_avx512(p, first, count, input, output, totals, lo, hi);
    if (h5t_isa == H5T_AVX2) return qs8_avx2(p, first, count, input, output, totals, lo, hi);
#endif
    qs8_rows(p, first, count, input, output, totals, lo, hi);
}
