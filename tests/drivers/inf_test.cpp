#include "drivers/inf.hpp"

#include <doctest/doctest.h>

#include "drivers/registry.hpp"
#include "tests/test_util.hpp"

using namespace rehost::drivers;

namespace {

InfDriver driver_of(const std::string& rel, int major = 10, int minor = 0, int build = 20348)
{
  std::string path = std::string(REHOST_TEST_DATA_DIR) + "/windows-drivers/" + rel;
  auto inf = parse_inf(rehost::test::read_file(path), rel);
  auto driver = read_driver(inf, "amd64", major, minor, build);
  REQUIRE_MESSAGE(driver, (driver ? "" : driver.error().message));
  return *driver;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("parse_inf: sections, comments, quotes, continuations and %strings%")
  {
    auto inf = parse_inf("\xef\xbb\xbf; header\n"
                         "[Version]\n"
                         "Signature=\"$Windows NT$\" ; comment\n"
                         "Provider = %Vendor%\n"
                         "[Files]\n"
                         "a.sys,,,2\n"
                         "[Mixed]\n"
                         "Key = \"quoted, with comma\", %12%\\x.sys, 100%% \\\n"
                         "  , next\n"
                         "[strings]\n"
                         "vendor = \"Acme \"\"Drivers\"\"\"\n",
                         "t.inf");
    REQUIRE(inf.sections.size() == 4);
    CHECK(inf.value("version", "signature") == "$Windows NT$");
    CHECK(inf.value("Version", "Provider") == "Acme \"Drivers\"");
    const InfSection* files = inf.section("FILES");
    REQUIRE(files);
    CHECK(files->lines.at(0).key.empty());
    CHECK(files->lines.at(0).values == std::vector<std::string>{"a.sys", "", "", "2"});
    const InfSection* mixed = inf.section("Mixed");
    REQUIRE(mixed);
    CHECK(mixed->line == 7);
    CHECK(mixed->lines.at(0).values
          == std::vector<std::string>{"quoted, with comma",
                                      "%SystemRoot%\\System32\\drivers\\x.sys", "100%", "next"});
  }

  TEST_CASE("viostor: boot-start storage service, decorated models by OS version")
  {
    auto d = driver_of("kvm/viostor/viostor.inf");
    CHECK(d.class_name == "SCSIAdapter");
    CHECK(d.catalog == "viostor.cat");
    CHECK(d.provider == "Red Hat, Inc.");
    CHECK(d.hardware_ids()
          == std::vector<std::string>{
              "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00", "PCI\\VEN_1AF4&DEV_1001",
              "PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01", "PCI\\VEN_1AF4&DEV_1042"});
    REQUIRE(d.services.size() == 1);
    CHECK(d.services[0].name == "viostor");
    CHECK(d.services[0].flags == 2);
    CHECK(d.services[0].type == 1);
    CHECK(d.services[0].start == 0);
    CHECK(d.services[0].error_control == 1);
    CHECK(d.services[0].group == "SCSI miniport");
    CHECK(d.services[0].binary == "System32\\drivers\\viostor.sys");
    CHECK(d.files == std::vector<std::string>{"viostor.sys"});

    // Windows Server 2012 R2 (6.3) gets the 6.3 models only; Windows 7 (6.1) none at all.
    auto old = driver_of("kvm/viostor/viostor.inf", 6, 3, 9600);
    CHECK(old.hardware_ids()
          == std::vector<std::string>{"PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00"});
    auto inf = parse_inf(rehost::test::read_file(std::string(REHOST_TEST_DATA_DIR)
                                                 + "/windows-drivers/kvm/viostor/viostor.inf"),
                         "viostor.inf");
    auto none = read_driver(inf, "amd64", 6, 1, 7601);
    REQUIRE(!none);
    CHECK(none.error().message == "viostor.inf: no device models for amd64 (Windows 6.1)");
    CHECK(read_driver(inf, "x86", 6, 3, 9600));
    CHECK(!read_driver(inf, "arm64", 10, 0, 20348));
  }

  TEST_CASE("netkvm: NDIS service, .NTamd64 install section, continued model line")
  {
    auto d = driver_of("kvm/netkvm/netkvm.inf");
    CHECK(d.class_name == "Net");
    CHECK(d.models.at(0).install_section == "kvmnet6.ndi.NTamd64");
    CHECK(d.models.at(0).hardware_ids
          == std::vector<std::string>{"PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00",
                                      "PCI\\VEN_1AF4&DEV_1000"});
    REQUIRE(d.services.size() == 1);
    CHECK(d.services[0].name == "netkvm");
    CHECK(d.services[0].start == 3);
    CHECK(d.services[0].group == "NDIS");
    CHECK(d.services[0].display_name == "Red Hat VirtIO Ethernet Adapter Service");
    CHECK(d.files == std::vector<std::string>{"netkvm.sys", "netkvmco.exe"});
  }

  TEST_CASE("AWS NVMe and ENA: .NT install sections, decorated catalog")
  {
    auto nvme = driver_of("aws-nitro/awsnvme/AWSNVMe.inf");
    CHECK(nvme.hardware_ids().size() == 4);
    CHECK(nvme.hardware_ids().at(0) == "PCI\\VEN_1D0F&DEV_8061");
    CHECK(nvme.services.at(0).name == "AWSNVMe");
    CHECK(nvme.services.at(0).start == 0);
    CHECK(nvme.services.at(0).display_name == "AWS NVMe Elastic Block Storage Adapter Service");
    CHECK(nvme.files == std::vector<std::string>{"AWSNVMe.sys"});

    auto ena = driver_of("aws-nitro/ena/ena.inf");
    CHECK(ena.catalog == "ena.cat");
    CHECK(ena.hardware_ids().size() == 4);
    auto ena_2012r2 = driver_of("aws-nitro/ena/ena.inf", 6, 3, 9600);
    CHECK(ena_2012r2.hardware_ids().size() == 2);
    CHECK(ena.services.at(0).group == "NDIS");
  }

  TEST_CASE("Xen PV storage: XENBUS ids, quoted group, several files")
  {
    auto d = driver_of("aws-xen/xenvbd/xenvbd.inf");
    CHECK(d.hardware_ids().at(0) == "XENBUS\\VEN_XS0001&DEV_VBD&REV_08000009");
    CHECK(d.services.at(0).name == "xenvbd");
    CHECK(d.services.at(0).start == 0);
    CHECK(d.services.at(0).group == "Scsi Miniport");
    CHECK(d.files == std::vector<std::string>{"xenvbd.sys", "xencrsh.sys"});
  }

  TEST_CASE("missing sections are named with the line that refers to them")
  {
    auto no_version = read_driver(parse_inf("[Manufacturer]\n", "a.inf"));
    CHECK(no_version.error().message == "a.inf: no [Version] section; not a driver INF");
    auto no_mfg = read_driver(parse_inf("[Version]\nClass=Net\n", "b.inf"));
    CHECK(no_mfg.error().message == "b.inf: no [Manufacturer] section");
    auto no_models =
        read_driver(parse_inf("[Version]\n[Manufacturer]\n%M%=Models,NTamd64\n", "c.inf"));
    CHECK(no_models.error().message
          == "c.inf:3: [Manufacturer] names models section [Models.NTamd64], which is missing");
    auto no_install = read_driver(
        parse_inf("[Version]\n[Manufacturer]\nM=Models\n[Models]\nDev=Inst,PCI\\VEN_1\n", "d.inf"));
    CHECK(no_install.error().message
          == "d.inf:5: model \"Dev\" names install section [Inst], which is missing");
    auto no_service = read_driver(parse_inf("[Version]\n[Manufacturer]\nM=Models\n[Models]\n"
                                            "Dev=Inst,PCI\\VEN_1\n[Inst]\n[Inst.Services]\n"
                                            "AddService=svc,2,Svc_Inst\n",
                                            "e.inf"));
    CHECK(no_service.error().message
          == "e.inf:8: AddService svc names section [Svc_Inst], which is missing");
    auto no_copy = read_driver(parse_inf("[Version]\n[Manufacturer]\nM=Models\n[Models]\n"
                                         "Dev=Inst,PCI\\VEN_1\n[Inst]\nCopyFiles=Files\n",
                                         "f.inf"));
    CHECK(no_copy.error().message == "f.inf:7: CopyFiles names section [Files], which is missing");
  }

  TEST_CASE("a UTF-16LE INF with a byte order mark reads as its UTF-8 twin")
  {
    std::string path =
        std::string(REHOST_TEST_DATA_DIR) + "/windows-drivers/kvm/viostor/viostor.inf";
    std::string utf8 = rehost::test::read_file(path);
    std::string utf16 = "\xff\xfe" + utf8_to_utf16le(utf8);
    auto plain = read_driver(parse_inf(utf8, "viostor.inf"), "amd64", 10, 0, 20348);
    auto wide = read_driver(parse_inf(utf16, "viostor.inf"), "amd64", 10, 0, 20348);
    REQUIRE_MESSAGE(wide, (wide ? "" : wide.error().message));
    REQUIRE(plain);
    CHECK(wide->hardware_ids() == plain->hardware_ids());
    CHECK(!wide->hardware_ids().empty());
    CHECK(wide->services.at(0).name == "viostor");
    CHECK(wide->services.at(0).binary == plain->services.at(0).binary);
    CHECK(wide->files == plain->files);
  }
}
