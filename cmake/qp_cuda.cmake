# SPDX-License-Identifier: Apache-2.0
# QP_CUDA=AUTO|ON|OFF: AUTO enables the CUDA backend where nvcc and cuBLASLt
# are found; ON fails the configure step without them; OFF never looks.
set(QP_HAVE_CUDA OFF)
if(NOT QP_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit QUIET)
  endif()
  if(CMAKE_CUDA_COMPILER AND TARGET CUDA::cublasLt)
    set(QP_HAVE_CUDA ON)
  elseif(QP_CUDA STREQUAL "ON")
    message(FATAL_ERROR "QP_CUDA=ON but nvcc or cuBLASLt was not found")
  endif()
endif()
if(QP_HAVE_CUDA)
  # .cu files: C++17 device code for QP_CUDA_ARCHS ("87-real;90": SASS for
  # sm_87 and sm_90, PTX for sm_90 so newer GPUs JIT it). Never fast math:
  # the INT8 epilogue must round exactly as the CPU does (quant_math.h).
  set(CMAKE_CUDA_ARCHITECTURES ${QP_CUDA_ARCHS})
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  enable_language(CUDA)
endif()
message(STATUS "qpercept: CUDA backend ${QP_HAVE_CUDA} (QP_CUDA=${QP_CUDA}, archs ${QP_CUDA_ARCHS})")
