// libjpeg reports errors by calling error_exit, which by default ends the process;
// here it longjmps back into the one C function that runs the whole decode.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} cjpeg_error;

/// The decoded pixels: 8-bit gray (1 channel) or RGB (3 channels), row-major.
/// `pixels` is malloc'ed: free it with cjpeg_free.
typedef struct {
    unsigned width;
    unsigned height;
    unsigned channels;
    unsigned char *pixels;
    char message[JMSG_LENGTH_MAX];
} cjpeg_image;

static inline void cjpeg_on_error(j_common_ptr cinfo) {
    cjpeg_error *error = (cjpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, error->message);
    longjmp(error->jump, 1);
}

/// Warnings (level -1) mean corrupt or truncated data, which libjpeg would paper
/// over with gray; they are errors here. Trace messages are dropped.
static inline void cjpeg_on_message(j_common_ptr cinfo, int level) {
    if (level < 0) cjpeg_on_error(cinfo);
}

/// Decodes a JPEG held in memory. Returns 1 on success, 0 with `image->message` set otherwise.
static inline int cjpeg_decode(const unsigned char *data, unsigned long size, size_t max_pixels, cjpeg_image *image) {
    struct jpeg_decompress_struct cinfo;
    cjpeg_error error;
    unsigned char *volatile pixels = NULL;
    memset(image, 0, sizeof *image);
    memset(&cinfo, 0, sizeof cinfo);
    memset(&error, 0, sizeof error);
    cinfo.err = jpeg_std_error(&error.base);
    error.base.error_exit = cjpeg_on_error;
    error.base.emit_message = cjpeg_on_message;
    if (setjmp(error.jump)) {
        free(pixels);
        jpeg_destroy_decompress(&cinfo);
        memcpy(image->message, error.message, sizeof image->message);
        return 0;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, size);
    jpeg_read_header(&cinfo, TRUE);
    if ((size_t)cinfo.image_width * cinfo.image_height > max_pixels) {
        strcpy(error.message, "the image has too many pixels");
        longjmp(error.jump, 1);
    }
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * cinfo.output_components;
    pixels = (unsigned char *)malloc(stride * cinfo.output_height);
    if (!pixels) {
        strcpy(error.message, "out of memory");
        longjmp(error.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    image->width = cinfo.output_width;
    image->height = cinfo.output_height;
    image->channels = cinfo.output_components;
    image->pixels = pixels;
    jpeg_destroy_decompress(&cinfo);
    return 1;
}

static inline void cjpeg_free(cjpeg_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
