# The image libraries of the data and eval layers, as interface targets:
#   wsol_opencv     OpenCV core + imgproc + imgcodecs
#   wsol_turbojpeg  libjpeg-turbo's TurboJPEG API
# OpenCV's CMake package file ships only with Debian's libopencv-dev meta package (which pulls every
# module); with just libopencv-{core,imgproc,imgcodecs}-dev installed, find headers and libraries
# directly. Only wsol_data, wsol_eval and the apps link these: the engine, autograd, ops, nn and
# models libraries stay free of them, so GPU test binaries can travel without them.
if(TARGET wsol_opencv)
  return()
endif()

add_library(wsol_opencv INTERFACE)
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(OpenCV_FOUND)
  target_link_libraries(wsol_opencv INTERFACE ${OpenCV_LIBS})
  target_include_directories(wsol_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
else()
  find_path(WSOL_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
  foreach(module core imgproc imgcodecs)
    find_library(WSOL_OPENCV_${module} NAMES opencv_${module} REQUIRED)
    target_link_libraries(wsol_opencv INTERFACE ${WSOL_OPENCV_${module}})
  endforeach()
  target_include_directories(wsol_opencv SYSTEM INTERFACE ${WSOL_OPENCV_INCLUDE_DIR})
endif()

add_library(wsol_turbojpeg INTERFACE)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(TURBOJPEG QUIET IMPORTED_TARGET libturbojpeg)
endif()
if(TARGET PkgConfig::TURBOJPEG)
  target_link_libraries(wsol_turbojpeg INTERFACE PkgConfig::TURBOJPEG)
else()
  find_path(TURBOJPEG_INCLUDE_DIR turbojpeg.h REQUIRED)
  find_library(TURBOJPEG_LIBRARY NAMES turbojpeg REQUIRED)
  target_include_directories(wsol_turbojpeg INTERFACE ${TURBOJPEG_INCLUDE_DIR})
  target_link_libraries(wsol_turbojpeg INTERFACE ${TURBOJPEG_LIBRARY})
endif()
