# Dependencies, found with pkg-config. A missing one stops the configure step
# with the Debian package that provides it.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

function(oc_require_pkg var module debian_pkg)
  pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR
      "${module} not found by pkg-config: apt-get install ${debian_pkg}")
  endif()
  message(STATUS "Found ${module} ${${var}_VERSION}")
endfunction()

oc_require_pkg(RDKAFKA rdkafka librdkafka-dev)
oc_require_pkg(AVRO avro-c libavro-dev)
oc_require_pkg(PQ libpq libpq-dev)
oc_require_pkg(JANSSON jansson libjansson-dev)
oc_require_pkg(SODIUM libsodium libsodium-dev)
oc_require_pkg(SYSTEMD libsystemd libsystemd-dev)
oc_require_pkg(MHD libmicrohttpd libmicrohttpd-dev)
oc_require_pkg(CURL libcurl libcurl4-openssl-dev)
