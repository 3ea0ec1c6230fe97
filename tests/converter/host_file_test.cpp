// Whole files of the host: read and written, or an error naming the file.
#include "converter/host_file.hpp"

#include <doctest/doctest.h>

#include "tests/test_util.hpp"

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("host files: read back byte for byte, written with their directories")
  {
    test::TempDir dir;
    // Longer than one read, with NUL bytes.
    std::string bytes(200000, 'x');
    bytes[5] = '\0';
    bytes.back() = '\0';
    std::string path = dir.str() + "/a/b/c.bin";
    REQUIRE(write_host_file(path, bytes));
    auto back = read_host_file(path);
    REQUIRE(back);
    CHECK(*back == bytes);
    REQUIRE(write_host_file(path, "short"));
    CHECK(read_host_file(path).value() == "short");
    REQUIRE(write_host_file(dir.str() + "/empty", ""));
    CHECK(read_host_file(dir.str() + "/empty").value().empty());
  }

  TEST_CASE("host files: a missing file, or a directory in the way, is an error naming it")
  {
    test::TempDir dir;
    auto missing = read_host_file(dir.str() + "/missing");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message == dir.str() + "/missing: cannot read");
    dir.write("plain", "x");
    // Its parent is a file: nothing can be written there.
    auto blocked = write_host_file(dir.str() + "/plain/child", "y");
    REQUIRE_FALSE(blocked);
    CHECK(blocked.error().message == dir.str() + "/plain/child: cannot write");
  }
}
