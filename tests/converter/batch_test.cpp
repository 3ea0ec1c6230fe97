#include "converter/batch.hpp"

#include <algorithm>

#include <doctest/doctest.h>

using namespace rehost;

namespace {

// The value after `option` in `argv`, or "(absent)".
std::string after(const std::vector<std::string>& argv, const std::string& option)
{
  auto it = std::find(argv.begin(), argv.end(), option);
  return it == argv.end() || it + 1 == argv.end() ? "(absent)" : *(it + 1);
}

bool has(const std::vector<std::string>& argv, const std::string& option)
{
  return std::find(argv.begin(), argv.end(), option) != argv.end();
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("each child of a batch gets the conversion's options, the Windows ones included")
  {
    CommonOptions common;
    common.backend = "guestfs";
    common.rules_dirs = {"/my/rules"};
    ConvertOptions o;
    o.target = "aws-nitro";
    auto plain = batch_child_argv(common, o, "/in/a.vmdk", "/out/a.qcow2", "/out/a.json");
    CHECK(plain
          == std::vector<std::string>{"/proc/self/exe", "--backend", "guestfs", "--command-timeout",
                                      "1800", "--rules-dir", "/my/rules", "convert", "/in/a.vmdk",
                                      "--target", "aws-nitro", "-o", "/out/a.qcow2", "--report",
                                      "/out/a.json"});

    o.drivers = "/drivers/nitro";
    o.discard_hive_logs = true;
    o.force = true;
    auto windows = batch_child_argv(common, o, "/in/a.vmdk", "/out/a.qcow2", "/out/a.json");
    CHECK(after(windows, "--drivers") == "/drivers/nitro");
    CHECK(has(windows, "--discard-hive-logs"));
    CHECK(has(windows, "--force"));
    CHECK(!has(plain, "--drivers"));
    CHECK(!has(plain, "--discard-hive-logs"));
    CHECK(!has(plain, "--keep-network"));
    CHECK(!has(plain, "--packages-dir"));

    o.keep_network = true;
    o.packages_dir = "/packages";
    auto linux = batch_child_argv(common, o, "/in/a.vmdk", "/out/a.qcow2", "/out/a.json");
    CHECK(has(linux, "--keep-network"));
    CHECK(after(linux, "--packages-dir") == "/packages");
  }
}
