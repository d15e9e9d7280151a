# The cuda_compile test, run by CTest as `cmake -DNVCC=... -DSOURCE_DIR=... -DOUT_DIR=... -P`:
# compiles kernels/cuda/windowed_attention.cu for sm_80 and sm_90 with every warning an error
# (nvcc, the host compiler, and ptxas register spills), then compiles the standalone test
# program and links both with the CUDA runtime into OUT_DIR/test_cuda_windowed_attention.
foreach(var NVCC SOURCE_DIR OUT_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "cuda_compile.cmake: pass -D${var}=... (tests/cuda/CMakeLists.txt does)")
  endif()
endforeach()
file(MAKE_DIRECTORY ${OUT_DIR})

set(flags -std=c++17 -O2 --threads=2
    -gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90,code=sm_90
    -Werror=all-warnings -Xcompiler=-Wall,-Wextra,-Werror
    -Xptxas=--warn-on-spills,--warning-as-error
    -I${SOURCE_DIR}/kernels/cuda -I${SOURCE_DIR}/kernels/include)

function(nvcc_step what)
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${NVCC} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(TIMESTAMP stop "%s")
  math(EXPR seconds "${stop} - ${start}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cuda_compile: ${what} failed (nvcc exit ${rc}):\n${out}")
  endif()
  message(STATUS "cuda_compile: ${what}: ok (${seconds} s)")
endfunction()

nvcc_step("kernels/cuda/windowed_attention.cu for sm_80, sm_90" ${flags} -c
          ${SOURCE_DIR}/kernels/cuda/windowed_attention.cu -o ${OUT_DIR}/windowed_attention.o)
nvcc_step("tests/cuda/test_windowed_attention.cu" ${flags} -c
          ${SOURCE_DIR}/tests/cuda/test_windowed_attention.cu -o ${OUT_DIR}/test_windowed_attention.o)
nvcc_step("link with the CUDA runtime" ${OUT_DIR}/test_windowed_attention.o
          ${OUT_DIR}/windowed_attention.o -o ${OUT_DIR}/test_cuda_windowed_attention)
# The host test of the tensor-core fragment layouts (mma_fragments.cuh); no device code.
nvcc_step("tests/cuda/test_mma_fragments.cu" ${flags} ${SOURCE_DIR}/tests/cuda/test_mma_fragments.cu
          -o ${OUT_DIR}/test_mma_fragments)

# The CUDA-only host C++ of the attention dispatch (kernels/src/cuda_backends.cpp and
# kernels/cuda/windowed_attention_autograd.cpp, compiled only in CUDA builds) syntax-checked by
# nvcc's host compiler against the LibTorch headers found, given as TORCH_INCLUDE_DIRS
# ("|"-separated; tests/cuda/CMakeLists.txt passes them). Debian's LibTorch 1.13 lacks c10/cuda's
# generated cuda_cmake_macros.h (C10_CUDA_NO_CMAKE_CONFIGURE_FILE skips it) and the LibTorch 2.5
# at::scaled_dot_product_attention with enable_gqa, declared here as 2.5 declares it (without
# defaults, so the declaration also agrees with 2.5+ headers). Only types and calls are checked.
if(DEFINED TORCH_INCLUDE_DIRS)
  string(REPLACE "|" ";" torch_dirs "${TORCH_INCLUDE_DIRS}")
  set(torch_includes)
  foreach(dir ${torch_dirs})
    list(APPEND torch_includes -isystem ${dir})
  endforeach()
  file(WRITE ${OUT_DIR}/cuda_host_check.cpp
    "#include <ATen/ATen.h>\n#include <optional>\n"
    "namespace at {\nTensor scaled_dot_product_attention(const Tensor& query, const Tensor& key,\n"
    "    const Tensor& value, const std::optional<Tensor>& attn_mask, double dropout_p,\n"
    "    bool is_causal, std::optional<double> scale, bool enable_gqa);\n}\n"
    "#include \"${SOURCE_DIR}/kernels/src/cuda_backends.cpp\"\n"
    "#include \"${SOURCE_DIR}/kernels/cuda/windowed_attention_autograd.cpp\"\n")
  nvcc_step("syntax of the CUDA-only host C++ (cuda_backends.cpp, windowed_attention_autograd.cpp)"
            -std=c++17 -Werror=all-warnings
            -Xcompiler=-Wall,-Wextra,-Wno-unused-parameter,-Werror,-fsyntax-only
            -DC10_CUDA_NO_CMAKE_CONFIGURE_FILE ${torch_includes}
            -I${SOURCE_DIR}/kernels/cuda -I${SOURCE_DIR}/kernels/include -I${SOURCE_DIR}/kernels/src
            -c ${OUT_DIR}/cuda_host_check.cpp -o ${OUT_DIR}/cuda_host_check.o)
  # The CUDA half of core/device (device count, name, peak memory, event timer, pinned buffers).
  nvcc_step("syntax of core/device/cuda_device.cpp"
            -std=c++17 -Werror=all-warnings
            -Xcompiler=-Wall,-Wextra,-Wno-unused-parameter,-Werror,-fsyntax-only
            -DC10_CUDA_NO_CMAKE_CONFIGURE_FILE ${torch_includes}
            -I${SOURCE_DIR}/core/include -I${SOURCE_DIR}/core/sdk/include
            -x c++ -c ${SOURCE_DIR}/core/device/cuda_device.cpp -o ${OUT_DIR}/cuda_device_check.o)
endif()
