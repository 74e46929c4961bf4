# SPDX-License-Identifier: Apache-2.0
# qp_package.cmake - where `cmake --install` puts qpercept and how CPack wraps
# that into a Debian package (docs/operations.md says how to use it).
#
# Layout (install prefix /usr, as the package has it):
#   bin/qperceptd, bin/qpercept          the server and the CLI
#   /etc/qpercept/qperceptd.conf         the configuration, a dpkg conffile
#                                        (absolute: the unit's ExecStart= and
#                                        the docs name it; honours DESTDIR)
#   lib/systemd/system/qperceptd.service the unit (QP_SYSTEMD_UNIT_DIR)
#   share/qpercept/zoo.ini, coco80.names the models manifest: qp_model_manifest
#                                        (engine/spec.c) looks for it at
#                                        EXE/../share/qpercept/zoo.ini
#   share/doc/qpercept/                  README, LICENSE, docs/*.md
#
# The package: deploy/debian/{postinst,prerm,postrm} (enable the unit, never
# start it; stop it on removal; forget it on purge), a generated conffiles
# list, Depends from dpkg-shlibdeps. `cmake --build B --target package` (or
# `cpack -G DEB` in B) writes B/qpercept_VERSION_ARCH.deb;
# tests/pkg/test_deb.sh checks it.
include(GNUInstallDirs)

set(QP_INSTALL_CONFDIR "/etc/qpercept" CACHE STRING
    "Absolute directory of qperceptd.conf (deploy/qperceptd.service names /etc/qpercept)")
set(QP_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Directory of qperceptd.service, relative to the install prefix")

install(TARGETS qperceptd qpercept RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/deploy/qperceptd.conf DESTINATION ${QP_INSTALL_CONFDIR})
install(FILES ${CMAKE_SOURCE_DIR}/deploy/qperceptd.service DESTINATION ${QP_SYSTEMD_UNIT_DIR})
install(FILES ${CMAKE_SOURCE_DIR}/models/zoo.ini ${CMAKE_SOURCE_DIR}/models/coco80.names
        DESTINATION ${CMAKE_INSTALL_DATADIR}/qpercept)
file(GLOB QP_DOC_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/LICENSE ${QP_DOC_FILES}
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- CPack: one .deb
set(QP_DEB_CONTROL_DIR ${CMAKE_BINARY_DIR}/debian)
file(WRITE ${QP_DEB_CONTROL_DIR}/conffiles "${QP_INSTALL_CONFDIR}/qperceptd.conf\n")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "qpercept")
set(CPACK_PACKAGE_VENDOR "qpercept")
set(CPACK_PACKAGE_CONTACT "qpercept maintainers <qpercept@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "quantized perception server: camera frames in, detections out")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "misc")
# Depends: the shared libraries the binaries link (libzmq5, libprotobuf-c1,
# libturbojpeg0, libspng0, libzstd1, liblz4-1, libsystemd0, libc6), from
# dpkg-shlibdeps. A CUDA build links libraries no Debian package ships
# (libcudart from the toolkit); dpkg-shlibdeps then fails: package such a build
# for the vehicle's own image (docs/operations.md).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The maintainer scripts call deb-systemd-helper when it is there.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "init-system-helpers")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${QP_DEB_CONTROL_DIR}/conffiles ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/prerm ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
# Control files keep the modes dpkg wants (scripts 0755, conffiles 0644)
# whatever the checkout's modes are.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
