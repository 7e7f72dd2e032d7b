// Host side of image layer import (lib/oci/layers.ts): the two things Node
// cannot do itself, on paths inside a staging directory only cordon writes.
#pragma once

#include <string>

namespace cordon::host {

// An overlayfs whiteout at `path`: a character device 0/0, which the kernel
// lets any user make (Linux 5.8+). Not through a symlink: an existing entry
// is EEXIST. Returns 0 or -errno.
int make_whiteout(const char* path);

// Sets the extended attribute `name` to `value` on the directory at `path`
// (opened O_NOFOLLOW | O_DIRECTORY: a symlink there is ELOOP, anything else
// ENOTDIR). Returns 0 or -errno.
int set_dir_xattr(const char* path, const char* name, const std::string& value);

// Reads the attribute `name` of `path` (not following a symlink) into
// *value. Returns 0 or -errno (ENODATA when it has none).
int get_xattr(const char* path, const char* name, std::string* value);

}  // namespace cordon::host
