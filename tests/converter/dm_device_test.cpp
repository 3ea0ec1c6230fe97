// What rehost takes for a device-mapper device of its own: only a name and uuid it gives, of a
// run that ended. Making devices needs device-mapper in the kernel; that is the integration
// test's (layouts_test.cpp).
#include "converter/dm_device.hpp"

#include <doctest/doctest.h>

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("dm: a device is a leftover only with rehost's name and uuid, of an ended run")
  {
    long asked = 0;
    auto ended = [&](long pid) {
      asked = pid;
      return false;
    };
    auto running = [](long) { return true; };
    CHECK(left_by_ended_run("rehost-4242-Ab12Cd-0", "REHOST-rehost-4242-Ab12Cd-0", ended));
    CHECK(asked == 4242);
    CHECK_FALSE(left_by_ended_run("rehost-4242-Ab12Cd-0", "REHOST-rehost-4242-Ab12Cd-0", running));
    // The host's own devices, whatever their name.
    CHECK_FALSE(left_by_ended_run("vg0-root", "LVM-abcdef", ended));
    CHECK_FALSE(left_by_ended_run("rehost-4242-Ab12Cd-0", "LVM-abcdef", ended));
    CHECK_FALSE(left_by_ended_run("rehost-4242-Ab12Cd-0", "", ended));
    CHECK_FALSE(left_by_ended_run("rehost-4242-Ab12Cd-0", "REHOST-rehost-4242-Ab12Cd-1", ended));
    CHECK_FALSE(left_by_ended_run("my-rehost-4242-0", "REHOST-my-rehost-4242-0", ended));
    // No process to ask about.
    asked = 0;
    CHECK_FALSE(left_by_ended_run("rehost-data", "REHOST-rehost-data", ended));
    CHECK_FALSE(left_by_ended_run("rehost-0-x", "REHOST-rehost-0-x", ended));
    CHECK_FALSE(left_by_ended_run("rehost-12", "REHOST-rehost-12", ended));
    CHECK(asked == 0);
  }

  TEST_CASE("dm: what is no block device has no holders")
  {
    CHECK(block_holders("").empty());
    CHECK(block_holders("/dev/null").empty());
    CHECK(block_holders("/nonexistent").empty());
    CHECK(dm_name_of("../../etc").empty());
  }
}
