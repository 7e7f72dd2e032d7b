// Parent side of idmapped mounts: a detached copy of a host path whose file
// owners appear remapped, made before clone and attached by the child.
#pragma once

#include "host/parts.h"

namespace cordon::host {

// A detached mount tree of `source` (recursive if asked), with MOUNT_ATTR_*
// `attrs` and idmapped through a user namespace that has `uid_map` and
// `gid_map` (map lines). Needs CAP_SYS_ADMIN in the initial user namespace.
// Unless `follow_symlinks`, `source` is resolved with openat2
// (RESOLVE_NO_SYMLINKS) first: a link in any component is ELOOP.
// Returns the tree fd (close-on-exec) or -errno; *part (IdmappedPart) says
// which step failed.
// X(Name, value, system call, what it does): exported for lib/.
#define CORDON_IDMAPPED_PART(X)                                  \
  X(MapNamespace, 1, "clone", "make the mapping namespace")      \
  X(OpenTree, 2, "open_tree", "copy the tree")                   \
  X(SetAttr, 3, "mount_setattr", "idmap the copy")               \
  X(Resolve, 4, "openat2", "resolve the source")

CORDON_HOST_PART_ENUM(IdmappedPart, CORDON_IDMAPPED_PART);

int idmapped_tree(const char* source, bool recursive, bool follow_symlinks, unsigned long long attrs,
                  const char* uid_map, const char* gid_map, int* part);

}  // namespace cordon::host
