#include "runtime/runtime.h"

namespace cordon::runtime {

int format_decimal(unsigned long value, char* out, unsigned long room) {
  // The digits come out lowest first; at most 20 for 64 bits.
  char reversed[20];
  int count = 0;
  do {
    reversed[count++] = char('0' + value % 10);
    value /= 10;
  } while (value != 0);
  if (static_cast<unsigned long>(count) + 1 > room) return -1;
  for (int i = 0; i < count; i++) out[i] = reversed[count - 1 - i];
  out[count] = '\0';
  return count;
}

}  // namespace cordon::runtime
