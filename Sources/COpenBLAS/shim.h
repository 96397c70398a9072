#include <cblas.h>

/* LAPACK's Cholesky solve, which libopenblas bundles (Debian ships no LAPACK header with it).
   The trailing length is gfortran's hidden argument for the character `uplo`. */
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
            double *b, const int *ldb, int *info, size_t uplo_length);
