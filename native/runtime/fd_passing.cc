#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "runtime/runtime.h"
#include "sys/syscalls.h"

namespace cordon::runtime {

namespace {
constexpr unsigned long kControlSize = CMSG_SPACE(sizeof(int) * kMaxPassedFds);
}  // namespace

long send_with_fds(int socket, const void* body, unsigned long length, const int* fds, int count) {
  if (count < 0 || count > kMaxPassedFds) return -EINVAL;
  alignas(cmsghdr) unsigned char control[kControlSize] = {};
  iovec payload{const_cast<void*>(body), length};
  msghdr message{};
  message.msg_iov = &payload;
  message.msg_iovlen = 1;
  if (count > 0) {
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * unsigned(count));
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_len = CMSG_LEN(sizeof(int) * unsigned(count));
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    int* slots = reinterpret_cast<int*>(CMSG_DATA(header));
    for (int i = 0; i < count; i++) slots[i] = fds[i];
  }
  long n;
  do n = sys::sc(__NR_sendmsg, socket, &message, MSG_NOSIGNAL);
  while (n == -EINTR);
  return n;
}

long receive_with_fds(int socket, void* body, unsigned long length, int* fds, int max, int* count) {
  *count = 0;
  alignas(cmsghdr) unsigned char control[kControlSize] = {};
  iovec payload{body, length};
  msghdr message{};
  message.msg_iov = &payload;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  long n;
  do n = sys::sc(__NR_recvmsg, socket, &message, MSG_CMSG_CLOEXEC);
  while (n == -EINTR);
  if (n < 0) return n;
  // One SCM_RIGHTS header is all a sender here makes (CMSG_NXTHDR is libc's).
  const cmsghdr* header = CMSG_FIRSTHDR(&message);
  int got = 0;
  const int* data = nullptr;
  if (header != nullptr && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
    data = reinterpret_cast<const int*>(CMSG_DATA(header));
    got = int((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
  }
  if (got > max || (message.msg_flags & MSG_CTRUNC) != 0) {
    for (int i = 0; i < got; i++) sys::sc(__NR_close, data[i]);
    return -EPROTO;
  }
  for (int i = 0; i < got; i++) fds[i] = data[i];
  *count = got;
  return n;
}

}  // namespace cordon::runtime
