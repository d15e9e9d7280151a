# Helpers shared by the sub-projects: warnings, the LibTorch precompiled header, plugins.

add_library(attnlab_warnings INTERFACE)
target_compile_options(attnlab_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)

# One precompiled header for every translation unit that includes LibTorch
# (torch/torch.h costs ~20 s per unit on 2 cores). Targets opt in with attnlab_use_torch_pch().
# Libraries compile with -fPIC and executables with -fPIE, so there is one header for each.
add_library(attnlab_torch_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
add_executable(attnlab_torch_pch_exe ${CMAKE_CURRENT_LIST_DIR}/torch_pch_main.cpp)
foreach(pch_target attnlab_torch_pch attnlab_torch_pch_exe)
  target_link_libraries(${pch_target} PRIVATE attnlab_torch)
  target_precompile_headers(${pch_target} PRIVATE ${CMAKE_CURRENT_LIST_DIR}/torch_pch.h)
endforeach()

function(attnlab_use_torch_pch target)
  target_link_libraries(${target} PRIVATE attnlab_torch)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    target_precompile_headers(${target} REUSE_FROM attnlab_torch_pch_exe)
  else()
    target_precompile_headers(${target} REUSE_FROM attnlab_torch_pch)
  endif()
endfunction()

# attnlab_add_plugin(NAME SOURCES...): one attention variant as a MODULE library in build/plugins/,
# compiled against attnlab_plugin_api only (the SDK root core/sdk/include, kernels, LibTorch).
function(attnlab_add_plugin name)
  add_library(attnlab_plugin_${name} MODULE ${ARGN})
  set_target_properties(attnlab_plugin_${name} PROPERTIES
    OUTPUT_NAME ${name} PREFIX "libattnlab_"
    LIBRARY_OUTPUT_DIRECTORY ${ATTNLAB_PLUGIN_OUTPUT_DIR})
  target_link_libraries(attnlab_plugin_${name} PRIVATE attnlab_plugin_api attnlab_warnings)
  attnlab_use_torch_pch(attnlab_plugin_${name})
endfunction()
