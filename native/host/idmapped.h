// Parent side of idmapped mounts: a detached copy of a host path whose file
// owners appear remapped, made before clone and attached by the child.
#pragma once

namespace cordon::host {

// A detached mount tree of `source` (recursive if asked), with MOUNT_ATTR_*
// `attrs` and idmapped through a user namespace that has `uid_map` and
// `gid_map` (map lines). Needs CAP_SYS_ADMIN in the initial user namespace.
// Unless `follow_symlinks`, `source` is resolved with openat2
// (RESOLVE_NO_SYMLINKS) first: a link in any component is ELOOP.
// Returns the tree fd (close-on-exec) or -errno; *part says which step
// failed: 1 make the mapping namespace, 2 open_tree, 3 mount_setattr,
// 4 resolve the source.
int idmapped_tree(const char* source, bool recursive, bool follow_symlinks, unsigned long long attrs,
                  const char* uid_map, const char* gid_map, int* part);

}  // namespace cordon::host
