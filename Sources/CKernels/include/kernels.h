/* The interpreter's matrix-product kernels: convolutions and dense layers as products of input
   rows with weights packed once, when a program is built.

   Swift compiles for the baseline instruction set and cannot select one per function, so the
   inner loops live here, compiled for AVX-512, AVX2+FMA and plain C, and the best the processor
   has is chosen once at run time. Every variant computes the same numbers up to the order of
   float additions; the integer ones are exact.

   An indirect product (XNNPACK's "igemm") reads, for output row r and filter tap t, the input
   channels at `input + offsets[r * taps + t]`, or at `padding` where the offset is negative (a
   row of zeros for floats, of the input zero point for integers): a convolution without copying
   patches. With `offsets == NULL`, row r is at `input + r * row_stride` and there is one tap. */
#ifndef H5TOLITE_KERNELS_H
#define H5TOLITE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Output channels per packed panel. */
#define H5T_PANEL 16

/* Which vector instructions the kernels use: "avx512vnni", "avx512", "avx2" or "portable": the
   best this processor has, or a lesser one named by the environment variable H5TOLITE_KERNELS. */
const char *h5t_kernel_isa(void);

/* Floats a packed float matrix of n output channels and k inputs takes. */
size_t h5t_f32_packed_count(int n, int k);

/* Packs row-major weights (n rows of k) and n biases (or NULL) into panels of H5T_PANEL output
   channels: each panel's biases, then for every input one value per channel, zeros past n. */
void h5t_f32_pack(int n, int k, const float *weights, const float *bias, float *packed);

/* output[r * output_stride + j] = clamp(bias[j] + sum of input row r times weight row j, lo, hi)
   for r < m, j < n; each row has `taps` taps of `channels` inputs (k = taps * channels). */
void h5t_f32_igemm(int m, int n, int taps, int channels, const float *input, const int32_t *offsets,
                   ptrdiff_t row_stride, const float *padding, const float *packed, float *output,
                   ptrdiff_t output_stride, float lo, float hi);

/* TFLite's requantization, per output channel: a 31-bit fixed-point multiplier and a shift,
   the output zero point and the activation's bounds. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t output_zero_point;
    int32_t lo, hi;
} h5t_requantization;

/* How the int8 products lay out inputs and weights: pairs of int16 (PMADDWD, or VPDPWSSD with
   VNNI; weights in [-255, 255]) or, on processors with AVX-512 VNNI and weights in [-128, 127],
   quads of bytes, inputs offset by 128 to unsigned (VPDPBUSD: twice the products per
   instruction). Either way every product and sum is exact. */
typedef enum { H5T_PAIRS, H5T_QUADS } h5t_qs8_layout;

/* The layout for these weights (less their zero point) on this processor. */
h5t_qs8_layout h5t_qs8_choose_layout(const int16_t *weights, size_t count);

/* Bytes the packed int8 matrix takes (n channels, `taps` taps of `channels` inputs). */
size_t h5t_qs8_packed_bytes(h5t_qs8_layout layout, int n, int taps, int channels);

/* Packs weights less their zero point (n rows of taps * channels), int32 biases (or NULL) and
   the input zero point, whose products the biases absorb: sum (x - zx) w = sum x w - zx sum w. */
void h5t_qs8_pack(h5t_qs8_layout layout, int n, int taps, int channels, const int16_t *weights,
                  const int32_t *bias, int32_t input_zero_point, void *packed);

/* Bytes one staged pixel takes. */
size_t h5t_qs8_staged_pixel_bytes(h5t_qs8_layout layout, int channels);

/* Copies `pixels` pixels of `channels` int8 values into the layout the kernels read, each
   pixel's extra inputs set to the zero point (their weights are zero). */
void h5t_qs8_stage(h5t_qs8_layout layout, int pixels, int channels, const int8_t *input, int32_t zero_point,
                   void *staged);

/* The int8 counterpart of h5t_f32_igemm on staged input: offsets and row_stride count bytes,
   `padding` is one staged pixel of the zero point. Sums are exact int32, requantized to int8 as
   TFLite's reference kernels do; without a requantization (NULL) the int32 sums themselves are
   stored (`output` then holds int32, output_stride counts them), for the hybrid kernels' float
   outputs. */
void h5t_qs8_igemm(h5t_qs8_layout layout, int m, int n, int taps, int channels, const void *staged,
                   const int32_t *offsets, ptrdiff_t row_stride, const void *padding, const void *packed,
                   const h5t_requantization *requantization, void *output, ptrdiff_t output_stride);

/* An int8 MUL or ADD whose other operand is a constant varying along the last axis, over rows
   of `width` values: with `rescale` 0 (MUL), out = M((x - zx) * constants[k]); with `rescale` 1
   (ADD), out = M(M_in((x - zx) * 2^20) + constants[k]), the constants already rescaled the same
   way (negated for SUB); M is requantization by multiplier and shift, and each result gets the
   output zero point and is clamped to [lo, hi]. */
typedef struct {
    int width;
    int rescale;
    const int32_t *constants;
    int32_t input_zero_point;
    int32_t input_multiplier, input_shift;
    int32_t multiplier, shift;
    int32_t output_zero_point;
    int32_t lo, hi;
} h5t_channel_op;

/* Applies `stages` such ops in order (each reading the int8 result of the one before, all with
   one width): a MUL and the ADD after it run as one pass. */
void h5t_qs8_channel_ops(const h5t_channel_op *ops, int stages, size_t rows, const int8_t *input, int8_t *output);

/* DEPTHWISE_CONV_2D: `taps` window positions per output pixel at `offsets` (pixel * taps of them,
   negative in the padding; they count input elements), `channels` input channels, each giving
   `multiplier` output channels. Weights are [taps][channels * multiplier]. */
typedef struct {
    int taps, channels, multiplier;
    const int32_t *offsets;
} h5t_depthwise;

/* Output pixels first..first+count (output points at pixel `first`): the float sums, in tap order
   with fused multiply-adds, plus the bias, clamped to [lo, hi]. `padding` is `channels` zeros,
   read where a window leaves the image. */
void h5t_f32_depthwise(const h5t_depthwise *d, int first, int count, const float *input, const float *padding,
                       const float *weights, const float *bias, float *output, float lo, float hi);

/* The int8 form: exact int32 sums of (x - input_zero_point) * w (weights less their zero point),
   plus the bias, requantized per output channel. Weights ([taps][width] int32, width = channels *
   multiplier) and biases (or NULL) are packed once, with the input zero point folded in, into
   h5t_qs8_depthwise_packed_words(taps, width) words; `padding` is `channels` bytes of the input
   zero point, read where a window leaves the image. Without a requantization (NULL) the int32
   sums themselves are stored (`output` then holds int32), for the hybrid kernel's float outputs. */
size_t h5t_qs8_depthwise_packed_words(int taps, int width);
void h5t_qs8_depthwise_pack(int taps, int width, const int32_t *weights, const int32_t *bias, int32_t input_zero_point,
                            int32_t *packed);
void h5t_qs8_depthwise(const h5t_depthwise *d, int first, int count, const int8_t *input, const int8_t *padding,
                       const int32_t *packed, const h5t_requantization *requantization, void *output);

/* Int8 ADD (or SUB) of two tensors of one shape: each input centred, shifted left by 20 and
   requantized to the shared scale, summed, requantized to the output, plus its zero point and
   clamped to [lo, hi]. */
typedef struct {
    int32_t left_zero_point, left_multiplier, left_shift;
    int32_t right_zero_point, right_multiplier, right_shift;
    int32_t multiplier, shift;
    int32_t output_zero_point, lo, hi;
    int subtract;
} h5t_add;

void h5t_qs8_add(const h5t_add *op, size_t count, const int8_t *x, const int8_t *y, int8_t *out);

/* QUANTIZE from float32 to int8: round(x / scale) in doubles, halves away from zero, plus the
   zero point, clamped to [lo, hi]. */
void h5t_quantize_int8(size_t count, const float *x, double scale, int32_t zero_point, int32_t lo, int32_t hi, int8_t *out);

/* A pooling window over one NHWC image. */
typedef struct {
    int input_height, input_width, channels;
    int output_width;
    int window_height, window_width;
    int stride_height, stride_width;
    int pad_top, pad_left;
    int is_max;
} h5t_pool;

/* Output rows first..first+count (output points at row `first`), clamped to [lo, hi]. */
void h5t_f32_pool(const h5t_pool *p, int first, int count, const float *input, float *output, float lo, float hi);

/* The int8 form; `totals` holds `channels` int32 of scratch. */
void h5t_qs8_pool(const h5t_pool *p, int first, int count, const int8_t *input, int8_t *output, int32_t *totals,
                  int32_t lo, int32_t hi);

/* Runs function(context, chunk) for every chunk in 0..<chunks, on the calling thread and up to
   threads - 1 pooled workers, and returns when all are done. Chunks must be independent. */
typedef void (*h5t_chunk_function)(void *context, int chunk);

void h5t_parallel(int chunks, int threads, h5t_chunk_function function, void *context);

/* Hybrid kernels (float activations, int8 weights). Dynamic quantization of float inputs, as
   LiteRT's default delegate (XNNPACK: rounding to even, the zero point from the nearer end, all
   in float) or TFLite's built-in kernels (AsymmetricQuantizeFloats) do it. */
typedef enum { H5T_DYNAMIC_XNNPACK, H5T_DYNAMIC_TFLITE } h5t_dynamic_quantization;

/* Quantizes `count` floats as one range into int8 values; their scale and zero point (0 for a
   range of one value, whose values all quantize to 0) go to `scale` and `zero_point`. */
void h5t_dynamic_quantize(h5t_dynamic_quantization mode, size_t count, const float *input, int8_t *q, float *scale,
                          int32_t *zero_point);

/* The order of a hybrid kernel's float operations on a sum: TFLite's built-in depthwise kernel
   scales it by the input scale, then the weight scale, then adds the bias; XNNPACK scales by the
   input scale and fuses the weight scale and the bias into one multiply-add. */
typedef enum { H5T_HYBRID_TFLITE_DEPTHWISE, H5T_HYBRID_XNNPACK } h5t_hybrid_order;

/* rows x units int32 sums to floats, with each row's input scale (or input_scales[0] for all).
   With zero points (per row likewise) and each unit's sum of weights, the sums are of quantized
   values q rather than q - zero_point, and zero_point * weight_sums[c] is taken out first. */
void h5t_hybrid_finish(h5t_hybrid_order order, int rows, int units, const int32_t *sums, const float *input_scales,
                       const int32_t *zero_points, const int32_t *weight_sums, int per_row, const float *weight_scales,
                       const float *bias, float *output);

#endif
