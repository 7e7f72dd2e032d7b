#include "host/sealed_init.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/unique_fd.h"

// Linux 6.3: executable memfds must be asked for, and exec bits can be sealed.
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace cordon::host {
namespace {

int copy_all(int from, int to) {
  char buffer[65536];
  for (;;) {
    ssize_t n = read(from, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return 0;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(to, buffer + done, size_t(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return w < 0 ? errno : EIO;
      done += w;
    }
  }
}

}  // namespace

int sealed_init_copy(const char* path, SealPart* part) {
  *part = SealPart::kOpen;
  UniqueFd source(open(path, O_RDONLY | O_CLOEXEC));
  if (!source) return -errno;

  *part = SealPart::kMemfdCreate;
  const unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  UniqueFd copy(memfd_create("cordon_init", flags | MFD_EXEC));
  // Kernels before 6.3 do not know MFD_EXEC (and make every memfd executable).
  if (!copy && errno == EINVAL) copy.reset(memfd_create("cordon_init", flags));
  if (!copy) return -errno;

  *part = SealPart::kCopy;
  int error = copy_all(source.get(), copy.get());
  if (error != 0) return -error;

  // Execute-only: exec needs no read right, and a process exec'd from a file
  // it cannot read starts non-dumpable (no window before the init's own
  // prctl), its mm owned by a user namespace that may read the file.
  *part = SealPart::kChmod;
  if (fchmod(copy.get(), 0111) != 0) return -errno;

  *part = SealPart::kSeal;
  const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (fcntl(copy.get(), F_ADD_SEALS, seals | F_SEAL_EXEC) != 0) {
    // Kernels before 6.3 do not know F_SEAL_EXEC.
    if (errno != EINVAL || fcntl(copy.get(), F_ADD_SEALS, seals) != 0) return -errno;
  }
  int have = fcntl(copy.get(), F_GET_SEALS);
  if (have < 0) return -errno;
  if ((have & seals) != seals) return -EPERM;
  return copy.release();
}

}  // namespace cordon::host
