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
message(STATUS "qpercept: CUDA backend ${QP_HAVE_CUDA} (QP_CUDA=${QP_CUDA})")
