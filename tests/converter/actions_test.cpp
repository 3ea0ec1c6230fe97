// The helpers shared by the action types.
#include <doctest/doctest.h>

#include "converter/action_support.hpp"

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("tail_lines keeps the last lines of a command's output")
  {
    CHECK(tail_lines("one\ntwo\nthree\n", 1) == "three\n");
    CHECK(tail_lines("one\ntwo\nthree\n", 2) == "two\nthree\n");
    CHECK(tail_lines("one\ntwo\n", 20) == "one\ntwo\n");
    // A command that printed nothing (update-grub in a quiet guest) must not throw.
    CHECK(tail_lines("", 20).empty());
    CHECK(tail_lines("\n", 1) == "");
  }
}
