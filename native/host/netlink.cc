#include "host/netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cordon::host {

NetlinkMessage::NetlinkMessage(uint16_t type, uint16_t flags, const void* header, size_t header_size) {
  nlmsghdr nl{};
  nl.nlmsg_type = type;
  nl.nlmsg_flags = uint16_t(flags | NLM_F_REQUEST | NLM_F_ACK);
  append(&nl, sizeof nl);
  append(header, header_size);
  align();
}

void NetlinkMessage::align() { bytes_.resize(NLMSG_ALIGN(bytes_.size()), 0); }

void NetlinkMessage::append(const void* data, size_t size) {
  const uint8_t* from = static_cast<const uint8_t*>(data);
  bytes_.insert(bytes_.end(), from, from + size);
}

void NetlinkMessage::put(uint16_t type, const void* data, size_t size) {
  align();
  nlattr attribute{};
  attribute.nla_type = type;
  attribute.nla_len = uint16_t(NLA_HDRLEN + size);
  append(&attribute, sizeof attribute);
  append(data, size);
  align();
}

void NetlinkMessage::put_string(uint16_t type, const char* text) { put(type, text, strlen(text) + 1); }
void NetlinkMessage::put_u32(uint16_t type, uint32_t value) { put(type, &value, sizeof value); }
void NetlinkMessage::put_u16(uint16_t type, uint16_t value) { put(type, &value, sizeof value); }

size_t NetlinkMessage::begin(uint16_t type) {
  align();
  size_t mark = bytes_.size();
  nlattr attribute{};
  attribute.nla_type = uint16_t(type | NLA_F_NESTED);
  append(&attribute, sizeof attribute);
  return mark;
}

void NetlinkMessage::end(size_t mark) {
  align();
  uint16_t length = uint16_t(bytes_.size() - mark);
  memcpy(bytes_.data() + mark, &length, sizeof length);
}

void NetlinkMessage::set_sequence(uint32_t sequence) {
  nlmsghdr nl;
  memcpy(&nl, bytes_.data(), sizeof nl);
  nl.nlmsg_len = uint32_t(bytes_.size());
  nl.nlmsg_seq = sequence;
  memcpy(bytes_.data(), &nl, sizeof nl);
}

Netlink::Netlink() {
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) {
    open_error_ = errno;
    return;
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) open_error_ = errno;
}

Netlink::~Netlink() {
  if (fd_ >= 0) close(fd_);
}

int Netlink::request(NetlinkMessage& message) {
  if (open_error_ != 0) return open_error_;
  uint32_t sequence = ++sequence_;
  message.set_sequence(sequence);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do sent = sendto(fd_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) return errno;
  // The acknowledgement is an NLMSG_ERROR whose error is 0 on success.
  alignas(nlmsghdr) uint8_t reply[8192];
  for (;;) {
    ssize_t got = recv(fd_, reply, sizeof reply, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno;
    int remaining = int(got);
    for (nlmsghdr* nl = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(nl, remaining); nl = NLMSG_NEXT(nl, remaining)) {
      if (nl->nlmsg_seq != sequence || nl->nlmsg_type != NLMSG_ERROR) continue;
      const nlmsgerr* error = static_cast<const nlmsgerr*>(NLMSG_DATA(nl));
      return -error->error;
    }
  }
}

}  // namespace cordon::host
