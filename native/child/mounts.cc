// Child half of mounts. Runs inside the box's new mount namespace, with the
// new mount API (open_tree, fsopen, move_mount, mount_setattr) so that every
// mount is attached to an fd resolved beneath the box's root, never to a
// path the kernel would resolve through a symlink.
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/stat.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

#ifndef MOUNT_ATTR_SIZE_VER0
#define MOUNT_ATTR_SIZE_VER0 32
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif

namespace cordon::child {
namespace {

using abi::MountPart;

int as_errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }

void close_fd(long fd) {
  if (fd >= 0) sys::sc(__NR_close, fd);
}

long open_in_root(int root_fd, const char* path, unsigned long flags) {
  struct open_how how = {};
  how.flags = flags | O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return sys::openat2_retry(root_fd, path, &how, sizeof how);
}

// A plain path opened with openat2 without following any symlink (or magic
// link) in any of its components.
long open_no_symlinks(const char* path, unsigned long flags) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  return sys::openat2_retry(AT_FDCWD, path, &how, sizeof how);
}

bool same(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

// Writes `prefix` then the decimal `number` into buf (size > prefix + 11).
void format_fd_path(char* buf, unsigned long size, const char* prefix, long number) {
  unsigned long len = 0;
  while (prefix[len] != '\0' && len + 12 < size) {
    buf[len] = prefix[len];
    len++;
  }
  runtime::format_decimal(static_cast<unsigned long>(number), buf + len, size - len);
}

// Copies `path` up to (not including) index `end` into `buf`.
void copy_prefix(char* buf, const char* path, unsigned long end) {
  for (unsigned long i = 0; i < end; i++) buf[i] = path[i];
  buf[end] = '\0';
}

}  // namespace

int resolve_target(int root_fd, const char* path, TargetMode mode, bool source_is_dir, int* out_fd,
                   int* part) {
  *part = int(MountPart::kResolveTarget);
  long fd = open_in_root(root_fd, path, 0);
  if (fd >= 0 || fd != -ENOENT || mode != TargetMode::kCreate) {
    if (fd < 0) return as_errno(fd);
    *out_fd = int(fd);
    return 0;
  }
  // Create what is missing, one component at a time, each beneath the root:
  // mkdirat and O_EXCL never follow a symlink, and every parent is reopened
  // with RESOLVE_IN_ROOT.
  *part = int(MountPart::kCreateTarget);
  char prefix[4096];
  unsigned long len = 0;
  while (path[len] != '\0') len++;
  if (len >= sizeof prefix) return ENAMETOOLONG;
  // The walk starts in the root fd itself, which it never closes.
  long parent = root_fd;
  unsigned long start = 0;
  while (start < len) {
    while (start < len && path[start] == '/') start++;
    if (start >= len) break;
    unsigned long end = start;
    while (end < len && path[end] != '/') end++;
    bool last = true;
    for (unsigned long k = end; k < len; k++) {
      if (path[k] != '/') {
        last = false;
        break;
      }
    }
    char name[256];
    if (end - start >= sizeof name) {
      if (parent != root_fd) close_fd(parent);
      return ENAMETOOLONG;
    }
    for (unsigned long k = start; k < end; k++) name[k - start] = path[k];
    name[end - start] = '\0';
    long r;
    if (last && !source_is_dir) {
      r = sys::sc(__NR_openat, parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (r >= 0) close_fd(r);
    } else {
      r = sys::sc(__NR_mkdirat, parent, name, 0755);
    }
    if (r < 0 && r != -EEXIST) {
      if (parent != root_fd) close_fd(parent);
      return as_errno(r);
    }
    copy_prefix(prefix, path, end);
    long next = open_in_root(root_fd, prefix, 0);
    if (parent != root_fd) close_fd(parent);
    if (next < 0) return as_errno(next);
    parent = next;
    start = end;
  }
  if (parent == root_fd) parent = sys::sc(__NR_dup, root_fd);  // the caller closes what it gets
  if (parent < 0) return as_errno(parent);
  *out_fd = int(parent);
  return 0;
}

int set_mount_propagation(unsigned long propagation) {
  return as_errno(sys::sc(__NR_mount, 0, "/", 0, MS_REC | propagation, 0));
}

// A path split at its last component, for the calls that take a directory
// fd and a name and follow nothing in it (symlinkat, readlinkat, mkdirat,
// openat with O_NOFOLLOW): the name (trailing slashes dropped), the
// directory before it ("/" when the name is at the top, else the path up to
// the name, its slash kept) and whether that directory is the root itself.
struct SplitPath {
  char dir[4096];
  char name[256];
  unsigned long name_start;  // where the name begins in the path
  bool dir_is_root;
};

// 0; ENOENT when the path has no last component (empty, or only slashes);
// ENAMETOOLONG when a part does not fit.
static int split_last(const char* path, SplitPath* out) {
  unsigned long len = 0;
  while (path[len] != '\0') len++;
  unsigned long end = len;
  while (end > 0 && path[end - 1] == '/') end--;
  unsigned long start = end;
  while (start > 0 && path[start - 1] != '/') start--;
  if (end == start) return ENOENT;
  if (start >= sizeof out->dir || end - start >= sizeof out->name) return ENAMETOOLONG;
  for (unsigned long k = start; k < end; k++) out->name[k - start] = path[k];
  out->name[end - start] = '\0';
  out->dir_is_root = true;
  for (unsigned long k = 0; k < start; k++) {
    if (path[k] != '/') out->dir_is_root = false;
  }
  if (start == 0) {
    out->dir[0] = '/';
    out->dir[1] = '\0';
  } else {
    copy_prefix(out->dir, path, start);
  }
  out->name_start = start;
  return 0;
}

// A mount target that exists as a symlink leading nowhere (an image's
// /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf, which
// podman binds its own file over): made where the link leads, as runc
// does, resolved and created beneath the root like any target (an absolute
// link, or `..` past the top, stays in the root). Each hop reads the link
// without following it; a chain longer than kMaxLinkHops is ELOOP. ENOENT
// when `path` is no link (the caller's error stands).
static int create_where_link_leads(int root_fd, const char* path, bool is_dir, int* out_fd, int* part) {
  constexpr int kMaxLinkHops = 8;
  char current[4096];
  char next[4096];
  unsigned long len = 0;
  while (path[len] != '\0') len++;
  if (len >= sizeof current) return ENAMETOOLONG;
  copy_prefix(current, path, len);
  SplitPath split;
  for (int hop = 0; hop < kMaxLinkHops; hop++) {
    int error = split_last(current, &split);
    if (error != 0) return error;
    const unsigned long start = split.name_start;
    // The link's directory beneath the root; the link itself is read, not followed.
    *part = int(MountPart::kResolveTarget);
    long parent = open_in_root(root_fd, split.dir, O_DIRECTORY);
    if (parent < 0) return as_errno(parent);
    char link[4096];
    long n = sys::sc(__NR_readlinkat, parent, split.name, link, sizeof link - 1);
    close_fd(parent);
    if (n < 0) return hop == 0 ? ENOENT : as_errno(n);
    link[n] = '\0';
    // Where it leads, as a path beneath the root: an absolute link from the
    // root, a relative one from its directory (RESOLVE_IN_ROOT then keeps
    // any `..` inside).
    unsigned long at = 0;
    if (link[0] != '/') {
      for (unsigned long k = 0; k < start; k++) next[at++] = current[k];
      if (at == 0) next[at++] = '/';
    }
    for (long k = 0; k < n; k++) {
      if (at + 1 >= sizeof next) return ENAMETOOLONG;
      next[at++] = link[k];
    }
    next[at] = '\0';
    error = resolve_target(root_fd, next, TargetMode::kCreate, is_dir, out_fd, part);
    if (error != ENOENT) return error;
    // ENOENT again: where it leads is a dangling link too (or a missing
    // parent's link): follow the next hop.
    len = at;
    copy_prefix(current, next, at);
  }
  *part = int(MountPart::kResolveTarget);
  return ELOOP;
}

// The target of a mount, made on the way when it is missing. A mount
// target in a fresh root usually does not exist yet, so it is created first
// in its parent, resolved beneath the root, and the new entry is opened from
// that parent without following anything: a directory with mkdirat then
// O_PATH|O_NOFOLLOW|O_DIRECTORY, a file with O_CREAT|O_EXCL|O_NOFOLLOW,
// whose fd is the target itself. Only when the name exists already (EEXIST)
// is the whole path resolved beneath the root, as resolve_target does; only
// when the parent is missing too is the path walked one component at a time.
// *created says the entry is new (so its type is the one asked for).
static int resolve_or_create_target(int root_fd, const char* path, bool is_dir, int* out_fd, bool* created,
                                    int* part) {
  *created = false;
  SplitPath split;
  if (split_last(path, &split) != 0 || same(split.name, ".") || same(split.name, "..")) {
    return resolve_target(root_fd, path, TargetMode::kCreate, is_dir, out_fd, part);
  }
  const char* name = split.name;
  const bool parent_is_root = split.dir_is_root;
  long parent = root_fd;
  if (!parent_is_root) {
    *part = int(MountPart::kResolveTarget);
    parent = open_in_root(root_fd, split.dir, 0);
    if (parent == -ENOENT) return resolve_target(root_fd, path, TargetMode::kCreate, is_dir, out_fd, part);
    if (parent < 0) return as_errno(parent);
  }
  *part = int(MountPart::kCreateTarget);
  long fd;
  if (is_dir) {
    fd = sys::sc(__NR_mkdirat, parent, name, 0755);
    if (fd == 0) fd = sys::sc(__NR_openat, parent, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC, 0);
  } else {
    fd = sys::sc(__NR_openat, parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  }
  if (!parent_is_root) close_fd(parent);
  if (fd == -EEXIST) {
    *part = int(MountPart::kResolveTarget);
    fd = open_in_root(root_fd, path, 0);
    if (fd == -ENOENT) {
      // The name exists but leads nowhere: a dangling link.
      int error = create_where_link_leads(root_fd, path, is_dir, out_fd, part);
      if (error != ENOENT) return error;
      *part = int(MountPart::kResolveTarget);
    }
    if (fd < 0) return as_errno(fd);
    *out_fd = int(fd);
    return 0;
  }
  if (fd < 0) return as_errno(fd);
  *created = true;
  *out_fd = int(fd);
  return 0;
}

// Attaches the detached mount `tree` at `target`: a plain path, or one
// resolved beneath the root.
static int attach(long tree, int root_fd, const char* target, TargetMode mode, bool is_dir, int* part) {
  long to = -1;
  bool created = false;
  if (mode == TargetMode::kPlain) {
    to = sys::sc(__NR_openat, AT_FDCWD, target, O_PATH | O_CLOEXEC, 0);
    if (to < 0) {
      *part = int(MountPart::kResolveTarget);
      return as_errno(to);
    }
  } else {
    int fd = -1;
    int error = mode == TargetMode::kCreate ? resolve_or_create_target(root_fd, target, is_dir, &fd, &created, part)
                                            : resolve_target(root_fd, target, mode, is_dir, &fd, part);
    if (error != 0) return error;
    to = fd;
  }
  // move_mount says EINVAL for a file over a directory or the reverse;
  // mount(2) said ENOTDIR, which tells the user what is wrong. A target just
  // created has the source's type.
  if (!created) {
    struct statx info = {};
    long r = sys::sc(__NR_statx, to, "", AT_EMPTY_PATH, STATX_TYPE, &info);
    if (r == 0 && ((info.stx_mode & 0170000) == 0040000) != is_dir) {
      close_fd(to);
      *part = int(MountPart::kAttach);
      return ENOTDIR;
    }
  }
  long r = sys::sc(__NR_move_mount, tree, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  close_fd(to);
  if (r < 0) *part = int(MountPart::kAttach);
  return as_errno(r);
}

// An overlay's upperdir or workdir, given by fd: opened without following
// symlinks and owned by the ids the child runs as (the box's root), or
// refused. Passed with FSCONFIG_SET_FD (mountinfo then shows the path of
// the fd, a staging name); on kernels whose overlayfs takes strings only,
// as the magic link `fd_prefix`N, which names no host path either.
static long set_layer_fd(long fs, const char* key, const char* path, const char* fd_prefix, int* part) {
  *part = int(MountPart::kResolveSource);
  long fd = open_no_symlinks(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fd;
  struct statx info = {};
  long r = sys::sc(__NR_statx, fd, "", AT_EMPTY_PATH, STATX_UID | STATX_GID, &info);
  if (r == 0 && (long(info.stx_uid) != sys::sc(__NR_getuid) || long(info.stx_gid) != sys::sc(__NR_getgid))) r = -EPERM;
  if (r < 0) {
    *part = int(MountPart::kCheckOwner);
    close_fd(fd);
    return r;
  }
  *part = int(MountPart::kFsConfig);
  r = sys::sc(__NR_fsconfig, fs, FSCONFIG_SET_FD, key, 0, fd);
  if (r == -EINVAL) {
    char through[64];
    format_fd_path(through, sizeof through, fd_prefix, fd);
    r = sys::sc(__NR_fsconfig, fs, FSCONFIG_SET_STRING, key, through, 0);
  }
  // Kept open until the filesystem is made: the string form resolves it then.
  if (r < 0) {
    close_fd(fd);
    return r;
  }
  return fd;
}

int mount_filesystem(const char* fstype, const char* const* config, uint64_t attrs, int root_fd,
                     const char* target, TargetMode mode, const char* layer_fd_prefix, int* part) {
  if (mode != TargetMode::kPlain && (same(fstype, "proc") || same(fstype, "sysfs"))) {
    // procfs and sysfs go on an ordinary directory, never where a symlink
    // in the image points (runc's rule since CVE-2019-19921): resolved
    // beneath the root either way, but a tenant's /proc -> /etc would
    // otherwise put procfs over its /etc. Nothing runs in the box yet to
    // swap a directory for a link after this check.
    struct open_how how = {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
    long probe = sys::openat2_retry(root_fd, target, &how, sizeof how);
    if (probe == -ELOOP) {
      *part = int(MountPart::kResolveTarget);
      return ELOOP;
    }
    close_fd(probe);
  }
  *part = int(MountPart::kFsOpen);
  long fs = sys::sc(__NR_fsopen, fstype, FSOPEN_CLOEXEC);
  if (fs < 0) return as_errno(fs);
  long layer_fds[2] = {-1, -1};
  for (int i = 0; config != nullptr && config[i] != nullptr && config[i + 1] != nullptr; i += 2) {
    const char* value = config[i + 1];
    bool layer = layer_fd_prefix != nullptr && (same(config[i], "upperdir") || same(config[i], "workdir"));
    long r;
    if (layer) {
      r = set_layer_fd(fs, config[i], value, layer_fd_prefix, part);
      if (r >= 0) layer_fds[same(config[i], "upperdir") ? 0 : 1] = r;
    } else {
      r = value[0] == '\0' ? sys::sc(__NR_fsconfig, fs, FSCONFIG_SET_FLAG, config[i], 0, 0)
                           : sys::sc(__NR_fsconfig, fs, FSCONFIG_SET_STRING, config[i], value, 0);
      if (r < 0) *part = int(MountPart::kFsConfig);
    }
    if (r < 0) {
      close_fd(fs);
      close_fd(layer_fds[0]);
      close_fd(layer_fds[1]);
      return as_errno(r);
    }
  }
  long r = sys::sc(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0);
  close_fd(layer_fds[0]);
  close_fd(layer_fds[1]);
  if (r < 0) {
    close_fd(fs);
    *part = int(MountPart::kFsCreate);
    return as_errno(r);
  }
  long tree = sys::sc(__NR_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
  close_fd(fs);
  if (tree < 0) {
    *part = int(MountPart::kFsMount);
    return as_errno(tree);
  }
  int error = attach(tree, root_fd, target, mode, true, part);
  close_fd(tree);
  return error;
}

int bind_mount(const char* source, int prepared_tree, bool recursive, uint64_t attrs, int root_fd, const char* target,
               TargetMode mode, SourceLinks links, const char* host_root, int* part) {
  const unsigned long clone_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  long tree;
  if (prepared_tree >= 0) {
    // An idmapped tree is prepared by the parent (it needs the host's
    // CAP_SYS_ADMIN) with its attributes set; the child only attaches it.
    *part = int(MountPart::kOpenSource);
    tree = sys::sc(__NR_dup, prepared_tree);
  } else if (links != SourceLinks::kPlain) {
    // A host path. One a tenant may write below is resolved without
    // following any link; one the caller trusts follows its links as the
    // host would (beneath the host's root, so an absolute link means a host
    // path, not one of the staging area). Either way the tree is cloned
    // from the very directory resolved.
    *part = int(MountPart::kResolveSource);
    long fd;
    if (links == SourceLinks::kRefuse) {
      fd = open_no_symlinks(source, O_PATH);
    } else {
      long root = sys::sc(__NR_openat, AT_FDCWD, host_root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
      if (root < 0) return as_errno(root);
      struct open_how how = {};
      how.flags = O_PATH | O_CLOEXEC;
      how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
      fd = sys::openat2_retry(root, source, &how, sizeof how);
      close_fd(root);
    }
    if (fd < 0) return as_errno(fd);
    *part = int(MountPart::kOpenSource);
    tree = sys::sc(__NR_open_tree, fd, "", AT_EMPTY_PATH | clone_flags);
    close_fd(fd);
  } else {
    *part = int(MountPart::kOpenSource);
    tree = sys::sc(__NR_open_tree, AT_FDCWD, source, clone_flags);
  }
  if (tree < 0) return as_errno(tree);
  if (prepared_tree >= 0) attrs = 0;
  struct statx info = {};
  long r = sys::sc(__NR_statx, tree, "", AT_EMPTY_PATH, STATX_TYPE, &info);
  if (r < 0) {
    close_fd(tree);
    return as_errno(r);
  }
  if (attrs != 0) {
    struct mount_attr attr = {};
    attr.attr_set = attrs;
    r = sys::sc(__NR_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                MOUNT_ATTR_SIZE_VER0);
    if (r < 0) {
      close_fd(tree);
      *part = int(MountPart::kSetAttr);
      return as_errno(r);
    }
  }
  bool is_dir = (info.stx_mode & 0170000) == 0040000;
  int error = attach(tree, root_fd, target, mode, is_dir, part);
  close_fd(tree);
  return error;
}

int set_mount_attr(int root_fd, const char* target, uint64_t set, uint64_t clear, AttrScope scope, int* part) {
  // The root itself (the box root made read-only) is the root fd's mount:
  // "/" resolved beneath the root is that very directory.
  bool is_root = true;
  for (const char* p = target; *p != '\0'; p++) {
    if (*p != '/') is_root = false;
  }
  if (is_root && scope == AttrScope::kTopMount) {
    struct mount_attr attr = {};
    attr.attr_set = set;
    attr.attr_clr = clear;
    long r = sys::sc(__NR_mount_setattr, root_fd, "", AT_EMPTY_PATH, &attr, MOUNT_ATTR_SIZE_VER0);
    if (r < 0) *part = int(MountPart::kSetAttr);
    return as_errno(r);
  }
  int fd = -1;
  int error = resolve_target(root_fd, target, TargetMode::kMustExist, true, &fd, part);
  if (error != 0) return error;
  if (scope == AttrScope::kTopMount) {
    // A mount cordon made at `target` itself (e.g. a hidden directory's
    // tmpfs, made read-only once the mounts under it are attached): change
    // that mount alone, in place, leaving the mounts on top of it as they are.
    struct mount_attr attr = {};
    attr.attr_set = set;
    attr.attr_clr = clear;
    long r = sys::sc(__NR_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, MOUNT_ATTR_SIZE_VER0);
    close_fd(fd);
    if (r < 0) *part = int(MountPart::kSetAttr);
    return as_errno(r);
  }
  const bool recursive = scope == AttrScope::kSubtree;
  // Bind the target onto itself first, so the attributes apply to that
  // subtree only, not to the whole mount that happens to contain it.
  *part = int(MountPart::kOpenSource);
  long tree = sys::sc(__NR_open_tree, fd, "",
                      AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (tree < 0) {
    close_fd(fd);
    return as_errno(tree);
  }
  struct mount_attr attr = {};
  attr.attr_set = set;
  attr.attr_clr = clear;
  long r = sys::sc(__NR_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                   MOUNT_ATTR_SIZE_VER0);
  if (r < 0) {
    *part = int(MountPart::kSetAttr);
  } else {
    r = sys::sc(__NR_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    if (r < 0) *part = int(MountPart::kAttach);
  }
  close_fd(tree);
  close_fd(fd);
  return as_errno(r);
}

int bind_devices(const char* source_dir, const char* const* names, uint64_t attrs, int root_fd, const char* target_dir,
                 int* part) {
  // Each node costs its own clone and attach; the two directories are
  // resolved once for all of them, and the attributes are set once, on the
  // fresh /dev tmpfs and the nodes under it together (nothing else is
  // mounted there yet). The target directory is resolved beneath the root;
  // each file in it is made with O_EXCL|O_NOFOLLOW, and that fd is the
  // mount's target.
  *part = int(MountPart::kResolveTarget);
  long to_dir = open_in_root(root_fd, target_dir, O_DIRECTORY);
  if (to_dir < 0) return as_errno(to_dir);
  *part = int(MountPart::kOpenSource);
  long from_dir = sys::sc(__NR_openat, AT_FDCWD, source_dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (from_dir < 0) {
    close_fd(to_dir);
    return as_errno(from_dir);
  }
  long r = 0;
  for (int i = 0; names[i] != nullptr; i++) {
    int at = 256 * (i + 1);
    *part = at + int(MountPart::kOpenSource);
    long tree = sys::sc(__NR_open_tree, from_dir, names[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) {
      r = tree;
      break;
    }
    *part = at + int(MountPart::kCreateTarget);
    long to = sys::sc(__NR_openat, to_dir, names[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (to < 0) {
      r = to;
      close_fd(tree);
      break;
    }
    // A directory over the new file says EINVAL here (a host whose device
    // node is a directory is broken; the box does not start).
    r = sys::sc(__NR_move_mount, tree, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    if (r < 0) *part = at + int(MountPart::kAttach);
    close_fd(to);
    close_fd(tree);
    if (r < 0) break;
  }
  if (r >= 0 && attrs != 0) {
    struct mount_attr attr = {};
    attr.attr_set = attrs;
    r = sys::sc(__NR_mount_setattr, to_dir, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, MOUNT_ATTR_SIZE_VER0);
    if (r < 0) *part = int(MountPart::kSetAttr);
  }
  close_fd(from_dir);
  close_fd(to_dir);
  return as_errno(r);
}

int make_dir(const char* path, long mode, int* part) {
  *part = int(MountPart::kMakeDir);
  long r = sys::sc(__NR_mkdirat, AT_FDCWD, path, mode);
  return r == -EEXIST ? 0 : as_errno(r);
}

int pivot_into(const char* new_root, const char* put_old, int* part) {
  *part = int(MountPart::kPivotRoot);
  long r = sys::sc(__NR_pivot_root, new_root, put_old);
  if (r < 0) return as_errno(r);
  *part = int(MountPart::kChdir);
  return as_errno(sys::sc(__NR_chdir, "/"));
}

int enter_root(const char* path, int* part) {
  *part = int(MountPart::kChdir);
  long r = sys::sc(__NR_chdir, path);
  if (r < 0) return as_errno(r);
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching
  // it leaves no path back to the host's tree.
  *part = int(MountPart::kPivotRoot);
  r = sys::sc(__NR_pivot_root, ".", ".");
  if (r < 0) return as_errno(r);
  *part = int(MountPart::kDetachOldRoot);
  r = sys::sc(__NR_umount2, ".", MNT_DETACH);
  if (r < 0) return as_errno(r);
  *part = int(MountPart::kChdir);
  return as_errno(sys::sc(__NR_chdir, "/"));
}

int make_symlink(const char* content, int root_fd, const char* link_path, int* part) {
  // The link's parent directory is resolved (and created) beneath the root;
  // the link itself is made with symlinkat, which never follows anything.
  SplitPath split;
  int error = split_last(link_path, &split);
  if (error != 0) {
    *part = int(MountPart::kSymlink);
    return error;
  }
  // A link at the top of the root is made in the root fd itself.
  int parent = root_fd;
  if (!split.dir_is_root) {
    error = resolve_target(root_fd, split.dir, TargetMode::kCreate, true, &parent, part);
    if (error != 0) return error;
  }
  *part = int(MountPart::kSymlink);
  long r = sys::sc(__NR_symlinkat, content, parent, split.name);
  if (!split.dir_is_root) close_fd(parent);
  return as_errno(r);
}

int write_file(const char* path, const char* content, long mode, int* part) {
  *part = int(MountPart::kWrite);
  long fd = sys::sc(__NR_openat, AT_FDCWD, path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return as_errno(fd);
  unsigned long len = 0;
  while (content[len] != '\0') len++;
  long r = write_all(int(fd), content, len);
  if (r == 0) r = sys::sc(__NR_fchmod, fd, mode);  // exact mode, whatever the umask
  close_fd(fd);
  return as_errno(r);
}

int mask_path(const char* file_source, int root_fd, const char* target, bool if_reachable, int* part) {
  int fd = -1;
  int error = resolve_target(root_fd, target, TargetMode::kMustExist, true, &fd, part);
  // An optional mask (a host socket cordon found) is skipped when the box
  // cannot reach the path anyway: gone since, or behind a hidden directory or
  // one the box may not search.
  if (if_reachable && (error == ENOENT || error == EACCES || error == ENOTDIR || error == ELOOP)) return 0;
  if (error != 0) return error;
  struct statx info = {};
  long r = sys::sc(__NR_statx, fd, "", AT_EMPTY_PATH, STATX_TYPE, &info);
  if (r < 0) {
    close_fd(fd);
    return as_errno(r);
  }
  long tree;
  if ((info.stx_mode & 0170000) == 0040000) {
    *part = int(MountPart::kFsOpen);
    long fs = sys::sc(__NR_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (fs >= 0 && (r = sys::sc(__NR_fsconfig, fs, FSCONFIG_SET_STRING, "size", "0", 0)) >= 0 &&
        (r = sys::sc(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0)) >= 0) {
      tree = sys::sc(__NR_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                            MOUNT_ATTR_NOEXEC);
    } else {
      tree = fs < 0 ? fs : r;
    }
    close_fd(fs);
  } else {
    *part = int(MountPart::kOpenSource);
    tree = sys::sc(__NR_open_tree, AT_FDCWD, file_source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  }
  if (tree < 0) {
    close_fd(fd);
    return as_errno(tree);
  }
  r = sys::sc(__NR_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  close_fd(tree);
  close_fd(fd);
  // An optional mask whose socket was unlinked after it was resolved: there
  // is nothing left to cover (a socket bound there later is the residue the
  // README names).
  if (r == -ENOENT && if_reachable) return 0;
  if (r < 0) *part = int(MountPart::kAttach);
  return as_errno(r);
}

int open_root(const char* path, int* root_fd, int* part) {
  *part = int(MountPart::kOpenRoot);
  long fd = sys::sc(__NR_openat, AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return as_errno(fd);
  if (*root_fd >= 0) close_fd(*root_fd);
  *root_fd = int(fd);
  return 0;
}

// Op handlers (child/ops.h). Targets in root resolve beneath the root that
// OpenRoot opened.

int run_MountFs(const Step& step, StepRun& run) {
  const auto a = MountFsArgs::of(step);
  return mount_filesystem(a.fstype, a.config, a.attrs, run.control->root_fd, a.target, a.target_mode, a.fd_prefix,
                          &run.detail);
}

int run_BindMount(const Step& step, StepRun& run) {
  const auto a = BindMountArgs::of(step);
  return bind_mount(a.source, a.prepared_tree, a.recursive, a.attrs, run.control->root_fd, a.target, a.target_mode,
                    a.source_links, a.host_root, &run.detail);
}

int run_BindDevices(const Step& step, StepRun& run) {
  return bind_devices(CORDON_ARG_STR(step, BindDevices, source), CORDON_ARG_LIST(step, BindDevices, devices),
                      uint64_t(CORDON_ARG_NUM(step, BindDevices, attrs)), run.control->root_fd,
                      CORDON_ARG_STR(step, BindDevices, target), &run.detail);
}

int run_MakeDir(const Step& step, StepRun& run) {
  const auto a = MakeDirArgs::of(step);
  return make_dir(a.path, a.mode, &run.detail);
}

int run_PivotRoot(const Step& step, StepRun& run) {
  const auto a = PivotRootArgs::of(step);
  return pivot_into(a.new_root, a.put_old, &run.detail);
}

int run_EnterRoot(const Step& step, StepRun& run) { return enter_root(CORDON_ARG_STR(step, EnterRoot, root), &run.detail); }

int run_Symlink(const Step& step, StepRun& run) {
  const auto a = SymlinkArgs::of(step);
  return make_symlink(a.link_to, run.control->root_fd, a.target, &run.detail);
}

int run_WriteFile(const Step& step, StepRun& run) {
  const auto a = WriteFileArgs::of(step);
  return write_file(a.path, a.content, a.mode, &run.detail);
}

int run_SetMountAttr(const Step& step, StepRun& run) {
  const auto a = SetMountAttrArgs::of(step);
  return set_mount_attr(run.control->root_fd, a.target, a.set, a.clear, a.scope, &run.detail);
}

int run_Mask(const Step& step, StepRun& run) {
  const auto a = MaskArgs::of(step);
  return mask_path(a.cover, run.control->root_fd, a.target, a.optional, &run.detail);
}

int run_OpenRoot(const Step& step, StepRun& run) {
  return open_root(CORDON_ARG_STR(step, OpenRoot, path), &run.control->root_fd, &run.detail);
}

int run_SetMountPropagation(const Step& step, StepRun&) {
  return set_mount_propagation(static_cast<unsigned long>(CORDON_ARG_NUM(step, SetMountPropagation, propagation)));
}

// Retired: the decoder refuses it.
int run_MountProcRetired(const Step&, StepRun&) { return EINVAL; }

// The payload's working directory, opened without following a magic link
// (ELOOP) and entered by its fd: Node's fds are still open here (a host
// directory among them: the box's cgroup), so a cwd through /proc/self/fd/N,
// or a symlink in the tenant's rootfs to it, would put the payload outside
// its root (runc's CVE-2024-21626). Plain symlinks resolve as chdir would.
int run_Chdir(const Step& step, StepRun&) {
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  long dir = sys::openat2_retry(AT_FDCWD, CORDON_ARG_STR(step, Chdir, path), &how, sizeof how);
  if (dir < 0) return static_cast<int>(-dir);
  long r = sys::sc(__NR_fchdir, dir);
  close_fd(dir);
  return r < 0 ? static_cast<int>(-r) : 0;
}

}  // namespace cordon::child
