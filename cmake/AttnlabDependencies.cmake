# Finds every system dependency once, so sub-projects only link imported targets.
find_package(Torch REQUIRED)            # Debian libtorch-dev, or any LibTorch via CMAKE_PREFIX_PATH
find_package(yaml-cpp REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
find_package(ZLIB REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
if(ATTNLAB_BUILD_TESTS)
  find_package(Catch2 2.13 REQUIRED)
endif()

# LibTorch as an interface target with its required flags (ABI define etc.).
add_library(attnlab_torch INTERFACE)
target_link_libraries(attnlab_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(attnlab_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(attnlab_torch INTERFACE ${_torch_flags})

# c10d's Gloo backend: Debian's LibTorch ships the library, the headers come from libgloo-dev.
find_path(GLOO_INCLUDE_DIR gloo/config.h)
if(NOT GLOO_INCLUDE_DIR)
  message(FATAL_ERROR "Gloo headers not found: install libgloo-dev (scripts/setup.sh does).")
endif()

# CUDA: auto-enabled when the LibTorch found was built with it.
set(ATTNLAB_WITH_CUDA OFF)
if(ATTNLAB_CUDA STREQUAL "ON" OR (ATTNLAB_CUDA STREQUAL "AUTO" AND TORCH_CUDA_LIBRARIES))
  set(ATTNLAB_WITH_CUDA ON)
endif()
# With CUDA, kernels/cuda joins attnlab_kernels, built for CMAKE_CUDA_ARCHITECTURES: "80;90"
# (A100, H100/H200) unless given, e.g. -DCMAKE_CUDA_ARCHITECTURES=90 (docs/GPU.md).
if(ATTNLAB_WITH_CUDA)
  # The CUDA attention backends call scaled_dot_product_attention with enable_gqa (2.5 on).
  if(Torch_VERSION VERSION_LESS 2.5)
    message(FATAL_ERROR "attnlab's CUDA build needs LibTorch >= 2.5 (scaled_dot_product_attention "
      "with enable_gqa); found LibTorch ${Torch_VERSION} in ${Torch_DIR}. Point "
      "CMAKE_PREFIX_PATH at the LibTorch of a PyTorch >= 2.5 install (docs/GPU.md), or build "
      "without CUDA: -DATTNLAB_CUDA=OFF.")
  endif()
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80;90" CACHE STRING "GPU architectures of the CUDA kernels")
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
endif()
# nvcc on its own, whatever LibTorch was found: the cuda_compile test (tests/cuda) uses it to
# check on CPU machines that the kernels compile.
if(CMAKE_CUDA_COMPILER)
  set(ATTNLAB_NVCC "${CMAKE_CUDA_COMPILER}" CACHE FILEPATH "nvcc for the cuda_compile test")
else()
  find_program(ATTNLAB_NVCC nvcc HINTS ENV CUDA_HOME ENV CUDA_PATH /usr/local/cuda
               PATH_SUFFIXES bin DOC "nvcc for the cuda_compile test")
endif()
message(STATUS "attnlab: LibTorch ${Torch_VERSION}, CUDA kernels: ${ATTNLAB_WITH_CUDA}, "
               "nvcc for cuda_compile: ${ATTNLAB_NVCC}")
