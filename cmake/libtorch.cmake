# Which libtorch the models build against (README, "A GPU build").
#
# By default Debian's libtorch-dev: 1.13, CPU only, found where Debian installs it (a
# -DTorch_DIR given by hand is respected). QUORUM_LIBTORCH names another one, e.g. a CUDA build:
#   /abs/path  a libtorch folder (the zip from pytorch.org, or a PyTorch's torch/ folder) with
#              share/cmake/Torch/TorchConfig.cmake inside, or the folder of TorchConfig.cmake
#              itself (Debian's: /usr/lib/x86_64-linux-gnu/cmake/Torch)
#   python     the libtorch inside the PyTorch that `python3` (on PATH) imports
# Whichever is used is printed: its version, its library, and whether it has CUDA. One built
# with the pre-C++11 libstdc++ ABI is refused (see quorum_refuse_old_abi).

set(QUORUM_LIBTORCH "" CACHE STRING
    "Another libtorch than Debian's: an absolute libtorch folder, the folder of its TorchConfig.cmake, or 'python'")

# The folder of TorchConfig.cmake that QUORUM_LIBTORCH names, or a stop saying why there is none.
function(quorum_torch_config_dir spec out)
  if(spec STREQUAL "python")
    find_program(python python3 NO_CACHE)
    if(NOT python)
      message(FATAL_ERROR "QUORUM_LIBTORCH=python: no python3 on PATH")
    endif()
    execute_process(
      COMMAND "${python}" -c "import sys, torch, torch.utils; print(sys.executable); print(torch.__version__); print(torch.utils.cmake_prefix_path)"
      RESULT_VARIABLE status OUTPUT_VARIABLE lines ERROR_VARIABLE error
      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_STRIP_TRAILING_WHITESPACE)
    if(NOT status EQUAL 0)
      # The traceback's last line says why (ModuleNotFoundError: No module named 'torch', ...).
      string(REGEX REPLACE ".*\n" "" error "${error}")
      message(FATAL_ERROR "QUORUM_LIBTORCH=python: ${python} cannot import torch (${error}). Put the Python "
                          "whose PyTorch should be used first on PATH (activate its environment), or give "
                          "QUORUM_LIBTORCH the libtorch folder itself.")
    endif()
    string(REPLACE "\n" ";" lines "${lines}")
    list(GET lines 0 python)
    list(GET lines 1 version)
    list(GET lines 2 prefix)
    set(dir "${prefix}/Torch")
    if(NOT EXISTS "${dir}/TorchConfig.cmake")
      message(FATAL_ERROR "QUORUM_LIBTORCH=python: the PyTorch ${version} of ${python} ships no C++ package "
                          "(no ${dir}/TorchConfig.cmake; Debian's python3-torch has none, the pip and conda "
                          "packages do). Use a PyTorch from pip or conda, or a libtorch folder.")
    endif()
    message(STATUS "libtorch: from the PyTorch ${version} of ${python}")
  else()
    if(NOT IS_ABSOLUTE "${spec}")
      message(FATAL_ERROR "QUORUM_LIBTORCH='${spec}': expected an absolute path or 'python'")
    endif()
    if(NOT IS_DIRECTORY "${spec}")
      message(FATAL_ERROR "QUORUM_LIBTORCH=${spec}: no such folder")
    endif()
    if(EXISTS "${spec}/TorchConfig.cmake")
      set(dir "${spec}")
    elseif(EXISTS "${spec}/share/cmake/Torch/TorchConfig.cmake")
      set(dir "${spec}/share/cmake/Torch")
    else()
      message(FATAL_ERROR "QUORUM_LIBTORCH=${spec} holds no TorchConfig.cmake (neither ${spec}/share/cmake/Torch/ "
                          "nor ${spec}/ has one): give the libtorch folder (the one with include/, lib/ and share/), "
                          "the folder of its TorchConfig.cmake, or 'python'")
    endif()
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

# libstdc++ has two ABIs for std::string and std::list. quorum links Debian's C++ libraries
# (yaml-cpp, CAF, ...), built with the C++11 one; a libtorch built with the old one
# (-D_GLIBCXX_USE_CXX11_ABI=0, as PyTorch's Linux wheels were before 2.7) would need every
# quorum file that includes its headers compiled that way too, and those files pass strings to
# and from the rest: it links, or not, and breaks at run time. Refused before any compiling.
function(quorum_refuse_old_abi)
  get_target_property(options torch INTERFACE_COMPILE_OPTIONS)
  if(NOT "${TORCH_CXX_FLAGS};${options}" MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
    return()
  endif()
  message(FATAL_ERROR "The libtorch in ${Torch_DIR} (${Torch_VERSION}) was built with the pre-C++11 libstdc++ ABI "
                      "(its TORCH_CXX_FLAGS: ${TORCH_CXX_FLAGS}). quorum links Debian's C++ libraries (yaml-cpp, "
                      "CAF, CLI11, ...), built with the C++11 ABI, and one program cannot mix the two. Use a libtorch "
                      "built with the C++11 ABI: the 'cxx11 ABI' libtorch zip from pytorch.org "
                      "(libtorch-cxx11-abi-shared-with-deps-*.zip; from 2.7 on every libtorch zip is one), or "
                      "PyTorch 2.7 or later from pip (its Linux wheels use the C++11 ABI) with QUORUM_LIBTORCH=python.")
endfunction()

if(QUORUM_LIBTORCH)
  quorum_torch_config_dir("${QUORUM_LIBTORCH}" quorum_torch_dir)
endif()
# TorchConfig.cmake caches the paths of the libraries it finds, so a build folder stays with the
# first libtorch found in it.
if(DEFINED CACHE{QUORUM_LIBTORCH_CONFIGURED} AND NOT QUORUM_LIBTORCH STREQUAL QUORUM_LIBTORCH_CONFIGURED)
  message(FATAL_ERROR "This build folder was configured with QUORUM_LIBTORCH='${QUORUM_LIBTORCH_CONFIGURED}', not "
                      "'${QUORUM_LIBTORCH}': another libtorch needs another build folder (or this one removed; "
                      "setup.sh builds Debian's into build/ and another into build-libtorch/)")
endif()
if(QUORUM_LIBTORCH)
  set(Torch_DIR "${quorum_torch_dir}" CACHE PATH "The folder of TorchConfig.cmake" FORCE)
  # A CUDA libtorch's TorchConfig looks for the CUDA toolkit (FindCUDA or FindCUDAToolkit,
  # depending on the version) and stops here without it.
  message(STATUS "libtorch: reading ${Torch_DIR}/TorchConfig.cmake (a CUDA libtorch needs the CUDA toolkit "
                 "at configure time: nvcc on PATH, or CUDAToolkit_ROOT)")
endif()
find_package(Torch REQUIRED)
set(QUORUM_LIBTORCH_CONFIGURED "${QUORUM_LIBTORCH}" CACHE INTERNAL "The QUORUM_LIBTORCH this folder was configured with")
quorum_refuse_old_abi()

set(QUORUM_TORCH_HAS_CUDA OFF)
if(TARGET torch_cuda)
  set(QUORUM_TORCH_HAS_CUDA ON)
  get_target_property(quorum_torch_cuda torch_cuda LOCATION)
  set(quorum_torch_cuda "yes (${quorum_torch_cuda}")
  if(CUDAToolkit_VERSION)
    string(APPEND quorum_torch_cuda ", CUDA toolkit ${CUDAToolkit_VERSION}")
  elseif(CUDA_VERSION)
    string(APPEND quorum_torch_cuda ", CUDA toolkit ${CUDA_VERSION}")
  endif()
  string(APPEND quorum_torch_cuda ")")
else()
  set(quorum_torch_cuda "no: models run on the CPU, `device: auto` included")
endif()
message(STATUS "libtorch ${Torch_VERSION}: ${TORCH_LIBRARY} (config ${Torch_DIR}); CUDA: ${quorum_torch_cuda}")
