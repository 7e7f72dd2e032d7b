// The four prebuilt targets and the toolchain each needs on a Debian (x64)
// build machine. Shared by scripts/prebuild.js (builds them),
// scripts/check-prebuilds.js (checks and loads them) and scripts/install.js
// (names the target a machine needs).
//
// Every target is built with Debian's own compilers:
// - glibc: the native g++ for x64, g++-aarch64-linux-gnu for arm64.
// - musl: the same g++ (native or cross) pointed at Debian's musl headers
//   and startup files (musl-dev, musl-dev:arm64 through multiarch) instead
//   of glibc's, with libstdc++ and libgcc linked in statically, so that the
//   addon needs nothing at run time but musl's libc (Debian has no
//   musl-targeting libstdc++ to link against dynamically).
// The init (cordon_init) is freestanding (-nostdlib, raw syscalls): one per
// architecture serves both libcs, and sits in prebuilds/linux-<arch>/.
'use strict';

const TARGETS = {
  'linux-x64-glibc': {
    arch: 'x64',
    libc: 'glibc',
    gnuTriplet: 'x86_64-linux-gnu',
    cxx: 'g++',
    cc: 'gcc',
    strip: 'strip',
    packages: ['g++', 'libc6-dev'],
    elfMachine: 'x86-64',
  },
  'linux-arm64-glibc': {
    arch: 'arm64',
    libc: 'glibc',
    gnuTriplet: 'aarch64-linux-gnu',
    cxx: 'aarch64-linux-gnu-g++',
    cc: 'aarch64-linux-gnu-gcc',
    strip: 'aarch64-linux-gnu-strip',
    packages: ['g++-aarch64-linux-gnu'],
    elfMachine: 'ARM aarch64',
  },
  'linux-x64-musl': {
    arch: 'x64',
    libc: 'musl',
    gnuTriplet: 'x86_64-linux-gnu',
    muslTriplet: 'x86_64-linux-musl',
    muslLoader: '/lib/ld-musl-x86_64.so.1',
    kernelHeaders: { linux: '/usr/include/linux', 'asm-generic': '/usr/include/asm-generic', asm: '/usr/include/x86_64-linux-gnu/asm' },
    cxx: 'g++',
    cc: 'gcc',
    strip: 'strip',
    packages: ['g++', 'musl-dev', 'linux-libc-dev'],
    elfMachine: 'x86-64',
  },
  'linux-arm64-musl': {
    arch: 'arm64',
    libc: 'musl',
    gnuTriplet: 'aarch64-linux-gnu',
    muslTriplet: 'aarch64-linux-musl',
    muslLoader: '/lib/ld-musl-aarch64.so.1',
    kernelHeaders: {
      linux: '/usr/aarch64-linux-gnu/include/linux',
      'asm-generic': '/usr/aarch64-linux-gnu/include/asm-generic',
      asm: '/usr/aarch64-linux-gnu/include/asm',
    },
    cxx: 'aarch64-linux-gnu-g++',
    cc: 'aarch64-linux-gnu-gcc',
    strip: 'aarch64-linux-gnu-strip',
    packages: ['g++-aarch64-linux-gnu', 'musl-dev:arm64 (after dpkg --add-architecture arm64)'],
    elfMachine: 'ARM aarch64',
  },
};

/**
 * The addon's file name, as prebuildify names an N-API build with --tag-libc
 * (runtime `node`, tag `napi`, then the libc), which node-gyp-build matches
 * on any Node version and picks by libc (musl where /etc/alpine-release
 * exists or LIBC=musl).
 */
function addonFileName(target) {
  return `node.napi.${TARGETS[target].libc}.node`;
}

/** The directory node-gyp-build and lib/internal/native.ts look in. */
function targetDir(target) {
  return `linux-${TARGETS[target].arch}`;
}

module.exports = { TARGETS, addonFileName, targetDir };
