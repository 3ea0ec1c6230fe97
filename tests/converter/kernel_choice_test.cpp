#include "converter/kernel_choice.hpp"

#include <doctest/doctest.h>

using namespace rehost;
using drivers::DriverState;

namespace {

TargetProfile nitro()
{
  TargetProfile t;
  t.name = "aws-nitro";
  t.storage_drivers = {"nvme", "nvme_core"};
  t.network_drivers = {"ena"};
  return t;
}

KernelInfo kernel(const std::string& version, std::map<std::string, DriverState> drivers,
                  bool debug = false)
{
  KernelInfo k;
  k.version = version;
  k.drivers = std::move(drivers);
  k.debug = debug;
  return k;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("the newest kernel with the target's storage and network drivers is chosen")
  {
    Inspection in;
    in.kernels = {kernel("6.1.0-13-amd64",
                         {{"nvme", DriverState::module}, {"nvme_core", DriverState::module}}),
                  kernel("5.10.0-26-amd64", {{"nvme", DriverState::builtin},
                                             {"nvme_core", DriverState::builtin},
                                             {"ena", DriverState::module}})};
    auto c = choose_boot_kernel(in, nitro());
    REQUIRE(c);
    CHECK(c->kernel->version == "5.10.0-26-amd64");
    REQUIRE(c->notes.size() == 1);
    CHECK(c->notes[0] == "6.1.0-13-amd64 passed over: it lacks ena");
  }

  TEST_CASE("debug kernels are chosen only when nothing else fits")
  {
    std::map<std::string, DriverState> all = {{"nvme", DriverState::module},
                                              {"nvme_core", DriverState::module},
                                              {"ena", DriverState::module}};
    Inspection in;
    in.kernels = {kernel("4.18.0-513.el8.x86_64+debug", all, true),
                  kernel("4.18.0-477.el8.x86_64", all)};
    auto c = choose_boot_kernel(in, nitro());
    REQUIRE(c);
    CHECK(c->kernel->version == "4.18.0-477.el8.x86_64");
    CHECK(c->notes.empty());
    in.kernels[1].drivers["nvme"] = DriverState::missing;
    c = choose_boot_kernel(in, nitro());
    REQUIRE(c);
    CHECK(c->kernel->debug);
  }

  TEST_CASE("a kernel with the disk driver but no network driver boots, with a note")
  {
    Inspection in;
    in.kernels = {kernel("6.1.0-13-amd64",
                         {{"nvme", DriverState::module}, {"nvme_core", DriverState::module}})};
    auto c = choose_boot_kernel(in, nitro());
    REQUIRE(c);
    CHECK(c->kernel->version == "6.1.0-13-amd64");
    REQUIRE(c->notes.size() == 1);
    CHECK(c->notes[0].find("lacks ena") != std::string::npos);
  }

  TEST_CASE("no kernel with the disk driver is an error naming the driver and each kernel")
  {
    Inspection in;
    in.kernels = {kernel("3.10.0-1160.el7.x86_64", {{"nvme", DriverState::missing}}),
                  kernel("3.10.0-123.el7.x86_64", {})};
    auto c = choose_boot_kernel(in, nitro());
    REQUIRE_FALSE(c);
    CHECK(c.error().message
          == "no kernel can boot on the aws-nitro target: none has the nvme driver its disk needs "
             "(3.10.0-1160.el7.x86_64 lacks nvme, nvme_core, ena; 3.10.0-123.el7.x86_64 lacks "
             "nvme, nvme_core, ena); install a kernel that has it");
  }
}
