# CMake package file of ftapi (installed as <prefix>/lib/cmake/ftapi/ftapiConfig.cmake).
#
#   find_package(ftapi CONFIG REQUIRED)      # CMAKE_PREFIX_PATH=<where the tree is>
#   target_link_libraries(app PRIVATE ftapi::ftapi)          # libftapi.so.0 / ftapi.dll
#   target_link_libraries(app PRIVATE ftapi::ftapi_static)   # libftapi.a + pthread, dl, m (Linux)
#   target_link_libraries(app PRIVATE ftapi::FTAPIChannel)   # the official channel: FTAPIChannel.h
#
# On Windows the DLLs are in bin/ and the import libraries in lib/: ftapi.lib for MSVC (and
# clang-cl), libftapi.dll.a for MinGW. Copy bin/ftapi.dll (or FTAPIChannel.dll) next to the
# program, or put bin/ on PATH.
#
# Every path below is computed from this file's own location, so the tree works wherever it
# was unpacked or installed (nothing here names the prefix it was built for).

get_filename_component(_ftapi_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(WIN32)
  if(MSVC)
    set(_ftapi_implib "lib/ftapi.lib")
    set(_ftapi_channel_implib "lib/FTAPIChannel.lib")
  else()
    set(_ftapi_implib "lib/libftapi.dll.a")
    set(_ftapi_channel_implib "lib/libFTAPIChannel.dll.a")
  endif()
  if(NOT TARGET ftapi::ftapi)
    add_library(ftapi::ftapi SHARED IMPORTED)
    set_target_properties(ftapi::ftapi PROPERTIES
      IMPORTED_LOCATION "${_ftapi_prefix}/bin/ftapi.dll"
      IMPORTED_IMPLIB "${_ftapi_prefix}/${_ftapi_implib}"
      INTERFACE_INCLUDE_DIRECTORIES "${_ftapi_prefix}/include")
  endif()
  if(NOT TARGET ftapi::FTAPIChannel)
    add_library(ftapi::FTAPIChannel SHARED IMPORTED)
    set_target_properties(ftapi::FTAPIChannel PROPERTIES
      IMPORTED_LOCATION "${_ftapi_prefix}/bin/FTAPIChannel.dll"
      IMPORTED_IMPLIB "${_ftapi_prefix}/${_ftapi_channel_implib}"
      INTERFACE_INCLUDE_DIRECTORIES "${_ftapi_prefix}/include")
  endif()
  unset(_ftapi_implib)
  unset(_ftapi_channel_implib)
else()
  if(NOT TARGET ftapi::ftapi)
    add_library(ftapi::ftapi SHARED IMPORTED)
    set_target_properties(ftapi::ftapi PROPERTIES
      IMPORTED_LOCATION "${_ftapi_prefix}/lib/libftapi.so.0"
      IMPORTED_SONAME "libftapi.so.0"
      INTERFACE_INCLUDE_DIRECTORIES "${_ftapi_prefix}/include")
  endif()

  if(NOT TARGET ftapi::ftapi_static)
    # The static library is Rust code: it needs the C library's threads, dlopen and libm.
    include(CMakeFindDependencyMacro)
    set(THREADS_PREFER_PTHREAD_FLAG ON)
    find_dependency(Threads)
    add_library(ftapi::ftapi_static STATIC IMPORTED)
    set_target_properties(ftapi::ftapi_static PROPERTIES
      IMPORTED_LOCATION "${_ftapi_prefix}/lib/libftapi.a"
      IMPORTED_LINK_INTERFACE_LANGUAGES "C"
      INTERFACE_INCLUDE_DIRECTORIES "${_ftapi_prefix}/include"
      INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
  endif()

  if(NOT TARGET ftapi::FTAPIChannel)
    # The official native channel (include/FTAPIChannel.h): lib/libFTAPIChannel.so is a second
    # name for libftapi.so.0, which is what the program then needs at run time.
    add_library(ftapi::FTAPIChannel SHARED IMPORTED)
    set_target_properties(ftapi::FTAPIChannel PROPERTIES
      IMPORTED_LOCATION "${_ftapi_prefix}/lib/libFTAPIChannel.so"
      IMPORTED_SONAME "libftapi.so.0"
      INTERFACE_INCLUDE_DIRECTORIES "${_ftapi_prefix}/include")
  endif()
endif()

set(ftapi_INCLUDE_DIRS "${_ftapi_prefix}/include")
set(ftapi_LIBRARIES ftapi::ftapi)
unset(_ftapi_prefix)
