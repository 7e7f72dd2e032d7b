// Bridge networking, parent side: a veth pair whose host end sits on a
// bridge and whose other end is the box's interface, set up over rtnetlink
// while the child waits in the parent's window.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "host/parts.h"

namespace cordon::host {

// Which part of attach_veth failed (StatusRecord::detail). X(Name, value,
// system call, what it does): the addon exports them for lib/ (plan-ops.ts).
#define CORDON_VETH_PART(X)                                                       \
  X(OpenNamespace, 1, "setns", "enter the box's network namespace")              \
  X(CreatePair, 2, "netlink RTM_NEWLINK", "create the veth pair")                \
  X(AttachHostEnd, 3, "netlink RTM_NEWLINK", "put the host end on the bridge")   \
  X(FilterQdisc, 4, "netlink RTM_NEWQDISC", "add the clsact qdisc for the filter") \
  X(Filter, 5, "netlink RTM_NEWTFILTER", "add the gateway-only filter")          \
  X(FindBoxEnd, 6, "if_nametoindex", "find the box end")                         \
  X(BoxAddress, 7, "netlink RTM_NEWADDR", "set the box's address")               \
  X(BoxLinkUp, 8, "netlink RTM_NEWLINK", "bring the box's interface up")         \
  X(DefaultRoute, 9, "netlink RTM_NEWROUTE", "add the default route")

CORDON_HOST_PART_ENUM(VethPart, CORDON_VETH_PART);

struct VethRequest {
  pid_t pid;               // the box, whose network namespace gets the box end
  const char* bridge;
  const char* host_name;   // the host end, on the bridge
  const char* box_name;    // the box end, inside the box
  uint32_t box_address;    // IPv4, network byte order
  int prefix;
  uint32_t gateway;        // IPv4, network byte order: the bridge's address
  bool gateway_only;       // drop whatever the box sends that is not ARP or IPv4 to the gateway
};

// 0 or a positive errno, with the failing part in *part.
int attach_veth(const VethRequest& request, int* part);

// A bridge with one IPv4 address, up. 0 or a positive errno (EEXIST if the name is taken).
int create_bridge(const char* name, uint32_t address, int prefix);

// Makes a bridge, a veth pair and the gateway-only filter in a network
// namespace of a throwaway thread, so nothing shows on the host: 0 or a
// positive errno with the failing part in *part.
int probe_bridge(int* part);

// The primary IPv4 address (host byte order) and prefix of a link, whatever
// its carrier: 0, or a positive errno (EADDRNOTAVAIL: it has none).
int ipv4_address(const char* name, uint32_t* address, int* prefix);

// Deletes a link by name: 0 or a positive errno (ENODEV when it is gone already).
int delete_link(const char* name);

// The lock file a supervisor holds (flock, shared) while it uses a bridge,
// and a sweep takes (exclusive, non-blocking) before it removes one: the
// kernel drops a flock with its last fd, so a SIGKILLed holder frees it.
// Opens (or, with `create`, makes, 0600) `name` in `dir` without following
// symlinks and takes `operation` (LOCK_SH or LOCK_EX, with LOCK_NB or not).
// A file a sweep unlinked while this one waited for it is not a lock any
// more: then the path is opened again. Returns the fd (close-on-exec) or
// -errno (-EWOULDBLOCK: held by someone else, with LOCK_NB; -ENOENT without
// `create` when there is no such file: a sweep never makes back a file
// another sweep removed with its bridge).
int lock_file(const char* dir, const char* name, int operation, bool create = true);

// Unlinks `name` in `dir` if it is still the file `fd` has open (the caller
// holds its exclusive lock): 0, or -errno (-ESTALE: another file is there).
int unlink_lock_file(const char* dir, const char* name, int fd);

}  // namespace cordon::host
