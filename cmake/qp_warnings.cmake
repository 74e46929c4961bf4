# SPDX-License-Identifier: Apache-2.0
# Warning set and sanitizers for every target of ours (not generated code).
set(QP_C_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wvla -Wformat=2 -Wno-unused-parameter)
if(QP_WERROR)
  list(APPEND QP_C_WARNINGS -Werror)
endif()
if(QP_SANITIZE)
  add_compile_options(-fsanitize=${QP_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${QP_SANITIZE})
endif()

function(qp_target_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C>:${QP_C_WARNINGS}>)
endfunction()

# The CPU backend picks its fast paths at run time (cpuid), so the files that
# hold AVX2 / AVX-512 code are compiled with those flags and the rest is not.
# Kernels are built with -O3 in optimised builds: at -O2 GCC 12 vectorises
# only fixed-length loops, and the element-wise kernels are not.
function(qp_cpu_features target)
  get_target_property(srcs ${target} SOURCES)
  set(opt "$<$<NOT:$<CONFIG:Debug>>:-O3>")
  foreach(s ${srcs})
    if(s MATCHES "_avx2\\.c$")
      set_source_files_properties(${s} PROPERTIES COMPILE_OPTIONS "${opt};-mavx2;-mfma;-mf16c")
    elseif(s MATCHES "_avx512\\.c$")
      set_source_files_properties(${s} PROPERTIES COMPILE_OPTIONS "${opt};-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mfma")
    elseif(s MATCHES "/engine/cpu/")
      set_source_files_properties(${s} PROPERTIES COMPILE_OPTIONS "${opt}")
    endif()
  endforeach()
endfunction()
