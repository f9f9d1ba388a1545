# Packaging: install rules for what the subdirectories do not install
# themselves (units, sysusers/tmpfiles snippets, example configurations,
# the man pages, docs) and CPack's Debian generator.
#
#   cmake -S . -B build-release -DCMAKE_INSTALL_PREFIX=/usr -DOC_BUILD_TESTS=OFF
#   cmake --build build-release
#   (cd build-release && cpack -G DEB)       # outcomes_<version>_<arch>.deb
#   DESTDIR=/tmp/root cmake --install build-release         # or a plain install
#
# Build the package from a tree without OC_SANITIZE: dpkg-shlibdeps reads the
# binaries, so a sanitizer build's package would depend on libasan/libubsan
# (tests/integration/test_package.sh builds a plain /usr tree of its own).
#
# Layout (prefix /usr): bin/ the programs; lib/<multiarch>/ liboutcomes.so.N
# and pkgconfig/outcomes.pc; include/outcomes/; share/outcomes/ catalog.tsv,
# avro/*.avsc, sql/*.sql; lib/systemd/system/ the units; lib/sysusers.d/
# and lib/tmpfiles.d/ outcomes.conf; share/man/man1, man8;
# share/doc/outcomes/ copyright, README.md, docs/*.md and
# examples/*.conf.example.

# Units go under the prefix (so `cmake --install --prefix DIR` stays in DIR):
# lib/systemd/system, which is /usr/lib/systemd/system for prefix /usr, a
# directory systemd reads. An absolute path is honoured as given.
set(OC_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd units are installed (relative to the prefix, or absolute)")
set(OC_SYSUSERSDIR "lib/sysusers.d" CACHE STRING "Where the sysusers.d snippet goes")
set(OC_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING "Where the tmpfiles.d snippet goes")

# The units name /usr/bin/...; installed copies name the real bindir.
foreach(unit outcomes-rollupd@.service outcomes-produce-watch@.service)
  set(src ${PROJECT_SOURCE_DIR}/deploy/systemd/${unit})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  file(READ ${src} text)
  string(REPLACE "/usr/bin/outcomes-" "${CMAKE_INSTALL_FULL_BINDIR}/outcomes-" text "${text}")
  file(WRITE ${CMAKE_BINARY_DIR}/deploy/systemd/${unit} "${text}")
  install(FILES ${CMAKE_BINARY_DIR}/deploy/systemd/${unit} DESTINATION ${OC_SYSTEMD_UNITDIR})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/outcomes.sysusers
  DESTINATION ${OC_SYSUSERSDIR} RENAME outcomes.conf)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/outcomes.tmpfiles
  DESTINATION ${OC_TMPFILESDIR} RENAME outcomes.conf)

# Example configurations: documentation, not conffiles (the admin copies
# one to /etc/outcomes/<instance>.conf).
file(GLOB OC_EXAMPLE_CONFIGS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/config/*.example)
install(FILES ${OC_EXAMPLE_CONFIGS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Man pages: docs/man/NAME.SECTION.in configured into the build tree
# (docs/man/NAME.SECTION) with the project version, the date and the data
# directory in them, and installed under their section.
# tests/docs/test_man_pages.sh checks them against the programs' key tables.
# The date is today's, or SOURCE_DATE_EPOCH's for a reproducible build.
string(TIMESTAMP OC_MAN_DATE "%Y-%m-%d" UTC)
file(GLOB OC_MAN_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/*.in)
foreach(src ${OC_MAN_SOURCES})
  get_filename_component(page ${src} NAME)
  string(REGEX REPLACE "\\.in$" "" page "${page}")
  string(REGEX REPLACE "^.*\\.([1-8])$" "\\1" section "${page}")
  configure_file(${src} ${CMAKE_BINARY_DIR}/docs/man/${page} @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/docs/man/${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

file(GLOB OC_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${OC_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The license statement, in Debian's machine-readable copyright format: a
# Debian package carries it as /usr/share/doc/<package>/copyright.
install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# ---- CPack: one .deb --------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "outcomes")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "outcomes")
set(CPACK_PACKAGE_CONTACT "outcomes maintainers <outcomes-maintainers@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
# The programs have their data directory (CMAKE_INSTALL_PREFIX/share/outcomes)
# compiled in, so the package installs where the tree was configured for:
# configure with -DCMAKE_INSTALL_PREFIX=/usr for a Debian package.
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "packaging: prefix ${CMAKE_INSTALL_PREFIX}: configure with "
                 "-DCMAKE_INSTALL_PREFIX=/usr to build the Debian package")
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION "database")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "${PROJECT_DESCRIPTION}
outcomes carries healthcare outcome metrics (A/R days, net collection rate,
clean-claim rate, readmissions, CPOE adoption, ...) from the systems that
measure them, through Kafka as Avro records, into PostgreSQL facts and
rollups, exactly once. This package holds the outcomes-produce producer
(files or a spool directory to Kafka), the outcomes-rollupd consumer daemon,
outcomes-migrate and the other tools, the shared library, the schemas and
SQL migrations, systemd units and man pages.")
# Library dependencies come from dpkg-shlibdeps (librdkafka1, libavro23,
# libpq5, libjansson4, libsystemd0, libmicrohttpd12, ...), which also finds
# our own liboutcomes in the package's staging directory; the postinst
# needs adduser.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
    "${CMAKE_BINARY_DIR}/_CPack_Packages/Linux/DEB/${CPACK_PACKAGE_NAME}-${PROJECT_VERSION}-Linux${CPACK_PACKAGING_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}"
    "${CMAKE_BINARY_DIR}/lib")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/deploy/debian/postinst"
    "${PROJECT_SOURCE_DIR}/deploy/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
if(OC_SANITIZE)
  message(STATUS "packaging: sanitizer build: its .deb depends on the sanitizer runtimes")
endif()
include(CPack)
