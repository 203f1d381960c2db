# `cmake --install`: the libraries, their headers under include/srkit/, the srkit program, the
# fetched models and data under share/srkit/ (core/resource_paths.h finds them there), a CMake
# package (find_package(srkit) -> srkit::srkit) and a pkg-config file (pkg-config srkit).
include(CMakePackageConfigHelpers)

set(SRKIT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/srkit)
set(srkit_libraries srkit_core)
if(SRKIT_WITH_OPENCV)
  list(APPEND srkit_libraries srkit_io srkit_train)
endif()

# srkit::srkit is everything that was built: the compute core, plus image files and training
# when OpenCV is present.
add_library(srkit_all INTERFACE)
target_link_libraries(srkit_all INTERFACE ${srkit_libraries})
set_target_properties(srkit_all PROPERTIES EXPORT_NAME srkit)
set_target_properties(srkit_core PROPERTIES EXPORT_NAME core)
if(SRKIT_WITH_OPENCV)
  set_target_properties(srkit_io PROPERTIES EXPORT_NAME io)
  set_target_properties(srkit_train PROPERTIES EXPORT_NAME train)
endif()
add_library(srkit::srkit ALIAS srkit_all)

install(TARGETS ${srkit_libraries} srkit_all EXPORT srkitTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/srkit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
if(SRKIT_WITH_OPENCV)
  install(TARGETS srkit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
# What scripts/setup.sh fetched (ignored by git, verified against the committed manifests).
foreach(folder models data)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${folder}/MANIFEST.sha256)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${folder}/
            DESTINATION ${CMAKE_INSTALL_DATADIR}/srkit/${folder})
  endif()
endforeach()

install(EXPORT srkitTargets NAMESPACE srkit:: DESTINATION ${SRKIT_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/srkitConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/srkitConfig.cmake
                              INSTALL_DESTINATION ${SRKIT_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/srkitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/srkitConfig.cmake ${PROJECT_BINARY_DIR}/srkitConfigVersion.cmake
        DESTINATION ${SRKIT_INSTALL_CMAKEDIR})

list(REVERSE srkit_libraries)  # a library before the ones it needs, for the linker
list(TRANSFORM srkit_libraries PREPEND "-l" OUTPUT_VARIABLE SRKIT_PC_LIBS)
list(JOIN SRKIT_PC_LIBS " " SRKIT_PC_LIBS)
# Compile flags a consumer needs for the headers srkit's headers include (LibTorch's, OpenCV's).
set(srkit_pc_include_dirs ${TORCH_INCLUDE_DIRS})
if(SRKIT_WITH_OPENCV)
  list(APPEND srkit_pc_include_dirs ${OpenCV_INCLUDE_DIRS})
endif()
list(REMOVE_DUPLICATES srkit_pc_include_dirs)
list(REMOVE_ITEM srkit_pc_include_dirs /usr/include)
list(TRANSFORM srkit_pc_include_dirs PREPEND "-I" OUTPUT_VARIABLE SRKIT_PC_CFLAGS)
list(JOIN SRKIT_PC_CFLAGS " " SRKIT_PC_CFLAGS)
string(APPEND SRKIT_PC_CFLAGS " ${TORCH_CXX_FLAGS}")
# The prefix relative to the .pc file, so that an installed tree can be moved.
file(RELATIVE_PATH SRKIT_PC_UP /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${CMAKE_CURRENT_LIST_DIR}/srkit.pc.in ${PROJECT_BINARY_DIR}/srkit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/srkit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
