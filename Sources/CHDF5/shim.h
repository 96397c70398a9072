// HDF5 spells its constants as macros that call into the library (H5open) or
// compute values at run time; Swift cannot import those, so they are wrapped here.
#ifndef H5TOLITE_CHDF5_SHIM_H
#define H5TOLITE_CHDF5_SHIM_H
#include <hdf5.h>

static inline unsigned h5l_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline hid_t h5l_p_default(void) { return H5P_DEFAULT; }
static inline hid_t h5l_s_all(void) { return H5S_ALL; }
static inline hid_t h5l_t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t h5l_t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t h5l_t_c_s1(void) { return H5T_C_S1; }
static inline size_t h5l_t_variable(void) { return H5T_VARIABLE; }
static inline hid_t h5l_e_default(void) { return H5E_DEFAULT; }
static inline void h5l_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
