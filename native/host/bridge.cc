#include "host/bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/openat2.h>
#include <linux/veth.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <thread>

#include "child/plan_args.h"
#include "host/netlink.h"
#include "host/ops.h"
#include "sys/syscalls.h"
#include "sys/unique_fd.h"

namespace cordon::host {
namespace {

int link_index(const char* name) { return int(if_nametoindex(name)); }

// Brings a link up; with a bridge index, also makes it a port of that bridge.
int set_up(Netlink& netlink, int index, int bridge_index = 0) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = index;
  info.ifi_flags = IFF_UP;
  info.ifi_change = IFF_UP;
  NetlinkMessage message(RTM_NEWLINK, 0, &info, sizeof info);
  if (bridge_index > 0) message.put_u32(IFLA_MASTER, uint32_t(bridge_index));
  return netlink.request(message);
}

int add_address(Netlink& netlink, int index, uint32_t address, int prefix) {
  ifaddrmsg header{};
  header.ifa_family = AF_INET;
  header.ifa_prefixlen = uint8_t(prefix);
  header.ifa_index = uint32_t(index);
  NetlinkMessage message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &header, sizeof header);
  message.put(IFA_LOCAL, &address, sizeof address);
  message.put(IFA_ADDRESS, &address, sizeof address);
  uint32_t host_mask = prefix >= 32 ? 0 : (0xffffffffu >> prefix);
  uint32_t broadcast = address | htonl(host_mask);
  message.put(IFA_BROADCAST, &broadcast, sizeof broadcast);
  return netlink.request(message);
}

int add_default_route(Netlink& netlink, int index, uint32_t gateway) {
  rtmsg header{};
  header.rtm_family = AF_INET;
  header.rtm_table = RT_TABLE_MAIN;
  header.rtm_protocol = RTPROT_BOOT;
  header.rtm_scope = RT_SCOPE_UNIVERSE;
  header.rtm_type = RTN_UNICAST;
  NetlinkMessage message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &header, sizeof header);
  message.put(RTA_GATEWAY, &gateway, sizeof gateway);
  message.put_u32(RTA_OIF, uint32_t(index));
  return netlink.request(message);
}

int create_pair(Netlink& netlink, const VethRequest& request, int netns_fd) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  NetlinkMessage message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
  message.put_string(IFLA_IFNAME, request.host_name);
  size_t link_info = message.begin(IFLA_LINKINFO);
  message.put_string(IFLA_INFO_KIND, "veth");
  size_t data = message.begin(IFLA_INFO_DATA);
  size_t peer = message.begin(VETH_INFO_PEER);
  ifinfomsg peer_info{};
  peer_info.ifi_family = AF_UNSPEC;
  message.append(&peer_info, sizeof peer_info);
  message.put_string(IFLA_IFNAME, request.box_name);
  if (netns_fd >= 0) message.put_u32(IFLA_NET_NS_FD, uint32_t(netns_fd));
  message.end(peer);
  message.end(data);
  message.end(link_info);
  return netlink.request(message);
}

int add_clsact(Netlink& netlink, int index) {
  tcmsg header{};
  header.tcm_family = AF_UNSPEC;
  header.tcm_ifindex = index;
  header.tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
  header.tcm_parent = TC_H_CLSACT;
  NetlinkMessage message(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, &header, sizeof header);
  message.put_string(TCA_KIND, "clsact");
  return netlink.request(message);
}

// Classic BPF run on each frame the box sends (from its MAC header), whose
// result is the verdict itself (direct action): ARP from the box's own
// address and IPv4 from the box's address to the gateway pass; anything
// else (other destinations, other boxes, spoofed sources, IPv6) is dropped.
int add_gateway_only_filter(Netlink& netlink, int index, uint32_t box_address, uint32_t gateway) {
  const uint32_t box = ntohl(box_address);
  const uint32_t gw = ntohl(gateway);
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),                // 0: ethertype
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 0, 2),  // 1: ARP? 2 : 4
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 28),                // 2: ARP sender address
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, box, 5, 6),        // 3: 9 : 10
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 5),   // 4: IPv4? 5 : 10
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 26),                // 5: source address
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, box, 0, 3),        // 6: 7 : 10
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30),                // 7: destination address
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, gw, 0, 1),         // 8: 9 : 10
      BPF_STMT(BPF_RET | BPF_K, TC_ACT_OK),                  // 9
      BPF_STMT(BPF_RET | BPF_K, uint32_t(TC_ACT_SHOT)),      // 10
  };
  tcmsg header{};
  header.tcm_family = AF_UNSPEC;
  header.tcm_ifindex = index;
  header.tcm_handle = 1;
  header.tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
  header.tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL));
  NetlinkMessage message(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &header, sizeof header);
  message.put_string(TCA_KIND, "bpf");
  size_t options = message.begin(TCA_OPTIONS);
  message.put_u16(TCA_BPF_OPS_LEN, uint16_t(sizeof program / sizeof program[0]));
  message.put(TCA_BPF_OPS, program, sizeof program);
  message.put_u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
  message.put_string(TCA_BPF_NAME, "cordon-gateway-only");
  message.end(options);
  return netlink.request(message);
}

void configure_box_end(const VethRequest& request, int netns_fd, int* error, int* part) {
  // Only this short-lived thread enters the box's network namespace.
  if (setns(netns_fd, CLONE_NEWNET) != 0) {
    *error = errno;
    *part = int(VethPart::kOpenNamespace);
    return;
  }
  Netlink netlink;
  int index = link_index(request.box_name);
  if (index == 0) {
    *error = errno;
    *part = int(VethPart::kFindBoxEnd);
    return;
  }
  if ((*error = add_address(netlink, index, request.box_address, request.prefix)) != 0) {
    *part = int(VethPart::kBoxAddress);
  } else if ((*error = set_up(netlink, index)) != 0) {
    *part = int(VethPart::kBoxLinkUp);
  } else if ((*error = add_default_route(netlink, index, request.gateway)) != 0) {
    *part = int(VethPart::kDefaultRoute);
  }
}

}  // namespace

int attach_veth(const VethRequest& request, int* part) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/net", int(request.pid));
  UniqueFd netns(open(path, O_RDONLY | O_CLOEXEC));
  *part = int(VethPart::kOpenNamespace);
  if (!netns) return errno;
  int bridge_index = link_index(request.bridge);
  *part = int(VethPart::kAttachHostEnd);
  if (bridge_index == 0) return errno;

  Netlink netlink;
  int error;
  *part = int(VethPart::kCreatePair);
  if ((error = create_pair(netlink, request, netns.get())) != 0) return error;
  int host_index = link_index(request.host_name);
  *part = int(VethPart::kAttachHostEnd);
  if (host_index == 0) return errno;
  if (request.gateway_only) {
    *part = int(VethPart::kFilterQdisc);
    if ((error = add_clsact(netlink, host_index)) != 0) return error;
    *part = int(VethPart::kFilter);
    if ((error = add_gateway_only_filter(netlink, host_index, request.box_address, request.gateway)) != 0) return error;
  }
  *part = int(VethPart::kAttachHostEnd);
  if ((error = set_up(netlink, host_index, bridge_index)) != 0) return error;

  int box_error = 0, box_part = 0;
  std::thread worker(configure_box_end, std::cref(request), netns.get(), &box_error, &box_part);
  worker.join();
  *part = box_part;
  return box_error;
}

int create_bridge(const char* name, uint32_t address, int prefix) {
  Netlink netlink;
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  NetlinkMessage message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
  message.put_string(IFLA_IFNAME, name);
  // A bridge without an address of its own takes the lowest of its ports',
  // so it would change as boxes come and go, and boxes that cached the
  // gateway's old MAC would lose the host. A random, locally administered,
  // unicast one stays.
  uint8_t mac[6];
  if (getrandom(mac, sizeof mac, 0) != sizeof mac) return errno;
  mac[0] = uint8_t((mac[0] & 0xfe) | 0x02);
  message.put(IFLA_ADDRESS, mac, sizeof mac);
  size_t link_info = message.begin(IFLA_LINKINFO);
  message.put_string(IFLA_INFO_KIND, "bridge");
  message.end(link_info);
  int error = netlink.request(message);
  if (error != 0) return error;
  int index = link_index(name);
  if (index == 0) return errno;
  if ((error = add_address(netlink, index, address, prefix)) != 0 || (error = set_up(netlink, index)) != 0) {
    delete_link(name);
    return error;
  }
  return 0;
}

int probe_bridge(int* part) {
  int error = 0;
  std::thread worker([&] {
    // A namespace of this thread's own: everything made here goes with it.
    if (unshare(CLONE_NEWNET) != 0) {
      error = errno;
      *part = int(VethPart::kOpenNamespace);
      return;
    }
    uint32_t gateway = htonl(0x0a000001), box = htonl(0x0a000002);
    *part = int(VethPart::kAttachHostEnd);
    if ((error = create_bridge("cdprobe0", gateway, 24)) != 0) return;
    VethRequest request{0, "cdprobe0", "cdprobe1", "cdprobe2", box, 24, gateway, true};
    Netlink netlink;
    *part = int(VethPart::kCreatePair);
    if ((error = create_pair(netlink, request, -1)) != 0) return;
    int index = link_index("cdprobe1");
    *part = int(VethPart::kFilterQdisc);
    if ((error = add_clsact(netlink, index)) != 0) return;
    *part = int(VethPart::kFilter);
    if ((error = add_gateway_only_filter(netlink, index, box, gateway)) != 0) return;
    *part = int(VethPart::kAttachHostEnd);
    error = set_up(netlink, index, link_index("cdprobe0"));
  });
  worker.join();
  return error;
}

int ipv4_address(const char* name, uint32_t* address, int* prefix) {
  UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno;
  ifreq request{};
  snprintf(request.ifr_name, sizeof request.ifr_name, "%s", name);
  if (ioctl(sock.get(), SIOCGIFADDR, &request) != 0) return errno;
  *address = ntohl(reinterpret_cast<sockaddr_in*>(&request.ifr_addr)->sin_addr.s_addr);
  if (ioctl(sock.get(), SIOCGIFNETMASK, &request) != 0) return errno;
  *prefix = __builtin_popcount(reinterpret_cast<sockaddr_in*>(&request.ifr_netmask)->sin_addr.s_addr);
  return 0;
}

int delete_link(const char* name) {
  int index = link_index(name);
  if (index == 0) return errno;
  Netlink netlink;
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = index;
  NetlinkMessage message(RTM_DELLINK, 0, &info, sizeof info);
  return netlink.request(message);
}

namespace {

long open_lock_dir(const char* dir) {
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  return sys::openat2_retry(AT_FDCWD, dir, &how, sizeof how);
}

bool same_file(int dir_fd, const char* name, int fd) {
  struct stat opened, at_path;
  if (fstat(fd, &opened) != 0 || fstatat(dir_fd, name, &at_path, AT_SYMLINK_NOFOLLOW) != 0) return false;
  return opened.st_dev == at_path.st_dev && opened.st_ino == at_path.st_ino;
}

}  // namespace

int lock_file(const char* dir, const char* name, int operation, bool create) {
  long dir_fd = open_lock_dir(dir);
  if (dir_fd < 0) return int(dir_fd);
  UniqueFd directory{int(dir_fd)};
  for (;;) {
    int fd = openat(directory.get(), name, O_RDWR | (create ? O_CREAT : 0) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    if (fd < 0) return -errno;
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      int error = errno == 0 ? EINVAL : errno;
      close(fd);
      return -error;
    }
    int result;
    do result = flock(fd, operation);
    while (result != 0 && errno == EINTR);
    if (result != 0) {
      int error = errno;
      close(fd);
      return -error;
    }
    // A sweep unlinks the file while it holds it exclusively: a waiter that
    // got it afterwards holds an orphan inode nobody else will ever open.
    if (same_file(directory.get(), name, fd)) return fd;
    close(fd);
  }
}

int unlink_lock_file(const char* dir, const char* name, int fd) {
  long dir_fd = open_lock_dir(dir);
  if (dir_fd < 0) return int(dir_fd);
  UniqueFd directory{int(dir_fd)};
  if (!same_file(directory.get(), name, fd)) return -ESTALE;
  return unlinkat(directory.get(), name, 0) == 0 ? 0 : -errno;
}

// The parent's AttachVeth op (host/ops.h): the box's interface, made while
// its child waits on the sync pipe.
int run_AttachVeth(const child::Step& step, ParentStepRun& run) {
  const auto args = child::AttachVethArgs::of(step);
  VethRequest request{run.pid, args.bridge, args.host_name, args.box_name, htonl(args.address), args.prefix,
                      htonl(args.gateway), args.gateway_only};
  return attach_veth(request, &run.detail);
}

}  // namespace cordon::host
