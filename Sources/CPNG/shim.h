// libpng reports errors with longjmp, which Swift cannot catch, so the whole
// decode runs here, inside one setjmp frame, and returns a plain status.
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
    jmp_buf jump;
    char message[256];
} cpng_context;

/// The decoded pixels: 1 (gray) or 3 (RGB) channels of 8- or 16-bit samples,
/// 16-bit ones big-endian as in the file. `pixels` is malloc'ed: free it with cpng_free.
typedef struct {
    unsigned width;
    unsigned height;
    unsigned channels;
    unsigned bytes_per_sample;
    unsigned char *pixels;
    char message[256];
} cpng_image;

static inline void cpng_fail(cpng_context *context, const char *message) {
    strncpy(context->message, message, sizeof context->message - 1);
    context->message[sizeof context->message - 1] = 0;
    longjmp(context->jump, 1);
}

static inline void cpng_on_error(png_structp png, png_const_charp message) {
    cpng_fail((cpng_context *)png_get_error_ptr(png), message);
}

static inline void cpng_on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static inline void cpng_on_read(png_structp png, png_bytep out, size_t length) {
    cpng_context *context = (cpng_context *)png_get_io_ptr(png);
    if (length > context->size - context->offset) png_error(png, "the file ends early");
    memcpy(out, context->data + context->offset, length);
    context->offset += length;
}

/// Decodes a PNG held in memory: palettes expand to RGB, gray below 8 bits to 8 bits,
/// alpha is dropped. Returns 1 on success, 0 with `image->message` set otherwise.
static inline int cpng_decode(const unsigned char *data, size_t size, size_t max_pixels, cpng_image *image) {
    cpng_context context;
    memset(&context, 0, sizeof context);
    memset(image, 0, sizeof *image);
    context.data = data;
    context.size = size;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, cpng_on_error, cpng_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        strcpy(image->message, "out of memory");
        return 0;
    }
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(context.jump)) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        memcpy(image->message, context.message, sizeof image->message);
        return 0;
    }
    png_set_read_fn(png, &context, cpng_on_read);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    if ((size_t)width * height > max_pixels) cpng_fail(&context, "the image has too many pixels");
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    unsigned channels = png_get_channels(png, info);
    unsigned bytes_per_sample = png_get_bit_depth(png, info) == 16 ? 2 : 1;
    size_t row_bytes = png_get_rowbytes(png, info);
    if ((channels != 1 && channels != 3) || row_bytes != (size_t)width * channels * bytes_per_sample)
        cpng_fail(&context, "unexpected pixel layout after decoding");
    pixels = (unsigned char *)malloc(row_bytes * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) cpng_fail(&context, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    image->width = width;
    image->height = height;
    image->channels = channels;
    image->bytes_per_sample = bytes_per_sample;
    image->pixels = pixels;
    return 1;
}

static inline void cpng_free(cpng_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
