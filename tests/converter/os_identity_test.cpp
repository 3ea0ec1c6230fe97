#include "converter/os_identity.hpp"

#include <doctest/doctest.h>

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("Debian: major from os-release, minor from debian_version")
  {
    auto os =
        identify_os({{"/etc/os-release",
                      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
                      "VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n"},
                     {"/etc/debian_version", "12.4\n"}});
    REQUIRE(os);
    CHECK(os->id == "debian");
    CHECK(os->family == "debian");
    CHECK(os->major == 12);
    CHECK(os->minor == 4);
    CHECK(os->codename == "bookworm");
  }

  TEST_CASE("Ubuntu 20.04 gives 20 and 4, family debian")
  {
    auto os = identify_os({{"/etc/os-release",
                            "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"20.04\"\n"}});
    REQUIRE(os);
    CHECK(os->major == 20);
    CHECK(os->minor == 4);
    CHECK(os->family == "debian");
    CHECK(os->id_like == std::vector<std::string>{"debian"});
  }

  TEST_CASE("old releases are identified from their release files")
  {
    auto centos = identify_os({{"/etc/redhat-release", "CentOS release 6.10 (Final)\n"},
                               {"/etc/centos-release", "CentOS release 6.10 (Final)\n"}});
    REQUIRE(centos);
    CHECK(centos->id == "centos");
    CHECK(centos->major == 6);
    CHECK(centos->minor == 10);
    CHECK(centos->family == "rhel");
    auto ol = identify_os(
        {{"/etc/oracle-release", "Oracle Linux Server release 6.9\n"},
         {"/etc/redhat-release", "Red Hat Enterprise Linux Server release 6.9 (Santiago)\n"}});
    REQUIRE(ol);
    CHECK(ol->id == "ol");
    auto sles =
        identify_os({{"/etc/SuSE-release",
                      "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n"}});
    REQUIRE(sles);
    CHECK(sles->id == "sles");
    CHECK(sles->major == 11);
    CHECK(sles->minor == 4);
    CHECK(sles->family == "suse");
    auto deb = identify_os({{"/etc/debian_version", "7.11\n"}});
    REQUIRE(deb);
    CHECK(deb->id == "debian");
    CHECK(deb->major == 7);
    CHECK(deb->minor == 11);
  }

  TEST_CASE("garbage release files give no identity, not a crash")
  {
    CHECK_FALSE(identify_os({}).has_value());
    CHECK_FALSE(identify_os({{"/etc/os-release", std::string("\x7f"
                                                             "ELF\0\0\0garbage",
                                                             14)}})
                    .has_value());
    CHECK_FALSE(identify_os({{"/etc/redhat-release", "nothing recognisable"}}).has_value());
  }

  TEST_CASE("elf_arch reads the machine of an ELF header")
  {
    std::string header(64, '\0');
    header.replace(0, 4,
                   "\x7f"
                   "ELF");
    header[4] = 2;
    header[5] = 1;
    header[18] = 0x3e;
    CHECK(elf_arch(header) == "x86_64");
    header[18] = static_cast<char>(0xb7);
    CHECK(elf_arch(header) == "aarch64");
    CHECK(elf_arch("#!/bin/sh\n").empty());
  }
}
