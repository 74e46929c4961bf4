# SPDX-License-Identifier: Apache-2.0
# QP_FUZZ: build the libFuzzer targets of tests/fuzz (scripts/fuzz.sh). Every
# target of ours and the generated protobuf code is compiled with coverage
# instrumentation plus ASan and UBSan (UB aborts, so libFuzzer reports it as a
# crash); only tests/fuzz links libFuzzer's main. Needs clang (Debian's, with
# libclang_rt.fuzzer) and QP_CUDA=OFF. Without QP_FUZZ the same target files
# are linked with tests/fuzz/replay_main.c into ctest's corpus replays.
option(QP_FUZZ "Build the libFuzzer targets (clang only; see scripts/fuzz.sh)" OFF)
if(QP_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "QP_FUZZ=ON needs clang (libFuzzer): configure with CC=clang")
  endif()
  if(QP_SANITIZE)
    message(FATAL_ERROR "QP_FUZZ=ON sets its own sanitizers: leave QP_SANITIZE empty")
  endif()
  set(QP_CUDA OFF CACHE STRING "Build the CUDA backend: AUTO|ON|OFF" FORCE) # clang, no nvcc
  set(QP_FUZZ_SANITIZE address,undefined)
  add_compile_options(-fsanitize=fuzzer-no-link,${QP_FUZZ_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -gline-tables-only)
  add_link_options(-fsanitize=${QP_FUZZ_SANITIZE})
endif()
