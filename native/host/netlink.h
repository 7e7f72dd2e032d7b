// A minimal rtnetlink client for the parent side: build one request, send
// it, read the kernel's acknowledgement. Enough for links, addresses,
// routes and tc objects; never used in the child.
#pragma once

#include <stdint.h>
#include <stddef.h>

#include <vector>

namespace cordon::host {

class NetlinkMessage {
 public:
  // `header` is the family header (ifinfomsg, ifaddrmsg, rtmsg, tcmsg).
  NetlinkMessage(uint16_t type, uint16_t flags, const void* header, size_t header_size);

  void put(uint16_t type, const void* data, size_t size);
  void put_string(uint16_t type, const char* text);
  void put_u32(uint16_t type, uint32_t value);
  void put_u16(uint16_t type, uint16_t value);
  // Nested attributes: begin returns a mark that end closes.
  size_t begin(uint16_t type);
  void end(size_t mark);
  // Raw bytes inside a nest (veth's peer carries an ifinfomsg of its own).
  void append(const void* data, size_t size);

  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  void set_sequence(uint32_t sequence);

 private:
  void align();
  std::vector<uint8_t> bytes_;
};

// A NETLINK_ROUTE socket in the calling thread's network namespace.
class Netlink {
 public:
  Netlink();
  ~Netlink();
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;

  // 0 when the socket opened, else a positive errno.
  int open_error() const { return open_error_; }
  // Sends `message` and waits for its acknowledgement: 0 or a positive errno.
  int request(NetlinkMessage& message);

 private:
  int fd_ = -1;
  int open_error_ = 0;
  uint32_t sequence_ = 0;
};

}  // namespace cordon::host
