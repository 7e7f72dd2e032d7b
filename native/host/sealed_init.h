// The init binary boxes exec: an in-memory, sealed, execute-only copy of
// cordon_init, so nothing a box does can reach the caller's file on disk
// (CVE-2019-5736: a box root rewriting the host binary through /proc/1/exe).
#pragma once

namespace cordon::host {

// Which part of sealed_init_copy failed.
enum class SealPart : int {
  kOpen = 1,         // open the binary on disk
  kMemfdCreate = 2,  // memfd_create: EACCES when vm.memfd_noexec=2 forbids executable memfds
  kCopy = 3,         // read it / write the copy
  kChmod = 4,        // fchmod the copy execute-only
  kSeal = 5,         // fcntl(F_ADD_SEALS)
};

// A memfd holding a copy of the file at `path`, mode 0111 (executable, but
// readable by no one: a process exec'd from it starts non-dumpable), sealed
// against writes, resizing, exec-bit changes and further sealing.
// Close-on-exec. Returns the fd, or -errno with *part set.
int sealed_init_copy(const char* path, SealPart* part);

}  // namespace cordon::host
