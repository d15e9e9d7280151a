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
