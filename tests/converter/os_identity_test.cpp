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

  TEST_CASE("old release files name the OS the way it does today")
  {
    auto rhel4 = identify_os(
        {{"/etc/redhat-release", "Red Hat Enterprise Linux AS release 4 (Nahant Update 9)\n"}});
    REQUIRE(rhel4);
    CHECK(rhel4->id == "rhel");
    CHECK(rhel4->version_id == "4.9");
    auto ol5 = identify_os(
        {{"/etc/enterprise-release",
          "Enterprise Linux Enterprise Linux Server release 5.11 (Carthage)\n"},
         {"/etc/redhat-release", "Red Hat Enterprise Linux Server release 5.11 (Tikanga)\n"}});
    REQUIRE(ol5);
    CHECK(ol5->id == "ol");
    CHECK(ol5->minor == 11);
    auto amzn1 = identify_os({{"/etc/system-release", "Amazon Linux AMI release 2014.09\n"}});
    REQUIRE(amzn1);
    CHECK(amzn1->id == "amzn");
    CHECK(amzn1->major == 2014);
    CHECK(amzn1->minor == 9);
    auto sap = identify_os(
        {{"/etc/SuSE-release", "SUSE Linux Enterprise Server for SAP Applications 11 (x86_64)\n"
                               "VERSION = 11\nPATCHLEVEL = 3\n"}});
    REQUIRE(sap);
    CHECK(sap->id == "sles_sap");
    CHECK(sap->version_id == "11.3");
    auto lucid = identify_os({{"/etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.04\n"},
                              {"/etc/debian_version", "squeeze/sid\n"}});
    REQUIRE(lucid);
    CHECK(lucid->id == "ubuntu");
    CHECK(lucid->family == "debian");
    CHECK(lucid->minor == 4);
  }

  TEST_CASE("CentOS 7's os-release says 7; centos-release gives the minor")
  {
    auto os = identify_os({{"/etc/os-release", "NAME=\"CentOS Linux\"\nID=\"centos\"\n"
                                               "ID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\n"},
                           {"/etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n"}});
    REQUIRE(os);
    CHECK(os->version_id == "7");
    CHECK(os->major == 7);
    CHECK(os->minor == 9);
    auto stream = identify_os({{"/etc/os-release", "NAME=\"CentOS Stream\"\nID=\"centos\"\n"
                                                   "VERSION_ID=\"9\"\n"},
                               {"/etc/centos-release", "CentOS Stream release 9\n"}});
    REQUIRE(stream);
    CHECK_FALSE(stream->minor.has_value());
  }

  TEST_CASE("rolling releases and unknown distributions")
  {
    auto arch =
        identify_os({{"/etc/os-release", "NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n"}});
    REQUIRE(arch);
    CHECK(arch->family == "arch");
    CHECK_FALSE(arch->major.has_value());
    auto tw =
        identify_os({{"/etc/os-release", "NAME=\"openSUSE Tumbleweed\"\n"
                                         "ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n"
                                         "VERSION_ID=\"20240310\"\n"}});
    REQUIRE(tw);
    CHECK(tw->family == "suse");
    auto acme = identify_os({{"/etc/os-release", "NAME=Acme\nID=acme\nVERSION_ID=3\n"}});
    REQUIRE(acme);
    CHECK(acme->family == "acme");
  }

  TEST_CASE("useless release files are named in the warnings")
  {
    std::vector<std::string> warnings;
    auto os = identify_os({{"/etc/os-release", std::string("\0\1\2", 3)},
                           {"/usr/lib/os-release", "# nothing but a comment\n"},
                           {"/etc/redhat-release", "Fedora release 39 (Thirty Nine)\n"}},
                          &warnings);
    REQUIRE(os);
    CHECK(os->id == "fedora");
    REQUIRE(warnings.size() == 2);
    CHECK(warnings[0].find("/etc/os-release is not a text file") != std::string::npos);
    CHECK(warnings[1].find("/usr/lib/os-release has neither ID nor NAME") != std::string::npos);
  }

  TEST_CASE("64 KiB of digits or letters in a release file: no crash, no absurd number")
  {
    auto rhel = identify_os(
        {{"/etc/redhat-release", "Red Hat Enterprise Linux release " + std::string(60000, '9')}});
    REQUIRE(rhel);
    CHECK_FALSE(rhel->major.has_value());
    auto suse = identify_os({{"/etc/SuSE-release", "SUSE Linux Enterprise Server 11\nVERSION = "
                                                       + std::string(60000, '1')
                                                       + "\nPATCHLEVEL = 99999999999999999999\n"}});
    REQUIRE(suse);
    CHECK_FALSE(suse->minor.has_value());
    CHECK_FALSE(identify_os({{"/etc/redhat-release", "Red Hat Enterprise Linux AS release 4 ("
                                                         + std::string(60000, 'N') + " Update 9)"}})
                    ->minor.has_value());
    auto os =
        identify_os({{"/etc/os-release", "ID=x\nVERSION_ID=" + std::string(60000, '7') + "\n"}});
    REQUIRE(os);
    CHECK_FALSE(os->major.has_value());
  }
}
