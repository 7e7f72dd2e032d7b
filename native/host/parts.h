// The one shape of the host-side part tables (VethPart, PoolPart,
// IdmappedPart, UpperPart): which part of a host call failed, reported with
// the errno. Each table is an X-macro of rows X(Name, value, system call,
// what it does); CORDON_HOST_PART_ENUM declares its enum, and binding.cc
// exports every table the same way.
#pragma once

#define CORDON_HOST_PART_ENUMERATOR(Name, value, ...) k##Name = value,
#define CORDON_HOST_PART_ENUM(Enum, TABLE) enum class Enum : int { TABLE(CORDON_HOST_PART_ENUMERATOR) }
