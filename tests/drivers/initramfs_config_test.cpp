#include "drivers/initramfs_config.hpp"

#include <doctest/doctest.h>

using namespace rehost::drivers;

TEST_SUITE("unit")
{
  TEST_CASE("lines: initramfs-tools' modules file gets the missing names after a comment")
  {
    const std::string text = "# List of modules that you want to include in your initramfs.\n"
                             "#\n# Examples:\n#\n# raid1\n# sd_mod\nnvme-core\n";
    auto edit = add_modules(ModulesFormat::lines, text, {"nvme", "nvme_core", "ena"}, "", "Added");
    CHECK(edit.added == std::vector<std::string>{"nvme", "ena"});
    CHECK(edit.text == text + "# Added\nnvme\nena\n");
    auto again = add_modules(ModulesFormat::lines, edit.text, {"nvme", "ena"}, "", "Added");
    CHECK(again.added.empty());
    CHECK(again.text == edit.text);
  }

  TEST_CASE("dracut: a drop-in rehost owns, merging what an earlier conversion listed")
  {
    auto first = add_modules(ModulesFormat::dracut, "", {"nvme", "ena"}, "", "For aws-nitro");
    CHECK(first.text.find("add_drivers+=\" nvme ena \"\n") != std::string::npos);
    CHECK(first.text.rfind("# For aws-nitro\n", 0) == 0);
    auto second =
        add_modules(ModulesFormat::dracut, first.text, {"virtio_blk", "nvme"}, "", "For kvm");
    CHECK(second.added == std::vector<std::string>{"virtio_blk"});
    CHECK(second.text.find("add_drivers+=\" nvme ena virtio_blk \"\n") != std::string::npos);
  }

  TEST_CASE("shell_list: INITRD_MODULES in /etc/sysconfig/kernel keeps its quoting and comments")
  {
    const std::string text = "## Type: string\n## Description: initrd modules\n"
                             "INITRD_MODULES=\"mptspi ata_piix\"\n\nDOMU_INITRD_MODULES=\"\"\n";
    auto edit = add_modules(ModulesFormat::shell_list, text, {"xen_blkfront", "ata_piix"},
                            "INITRD_MODULES", "");
    CHECK(edit.added == std::vector<std::string>{"xen_blkfront"});
    CHECK(edit.text
          == "## Type: string\n## Description: initrd modules\n"
             "INITRD_MODULES=\"mptspi ata_piix xen_blkfront\"\n\nDOMU_INITRD_MODULES=\"\"\n");
  }

  TEST_CASE("bash_array: mkinitcpio's MODULES=() grows in place")
  {
    const std::string text = "# vim:set ft=sh\n# MODULES\n# e.g. MODULES=(usbhid xhci_hcd)\n"
                             "MODULES=()\n\nBINARIES=()\nHOOKS=(base udev autodetect)\n";
    auto edit = add_modules(ModulesFormat::bash_array, text, {"nvme", "ena"}, "MODULES", "");
    CHECK(edit.text
          == "# vim:set ft=sh\n# MODULES\n# e.g. MODULES=(usbhid xhci_hcd)\n"
             "MODULES=(nvme ena)\n\nBINARIES=()\nHOOKS=(base udev autodetect)\n");
    auto more = add_modules(ModulesFormat::bash_array, "MODULES=(\"nvme\" ena)\n",
                            {"nvme", "virtio_blk"}, "MODULES", "");
    CHECK(more.added == std::vector<std::string>{"virtio_blk"});
    CHECK(more.text == "MODULES=(\"nvme\" ena virtio_blk)\n");
    // Old mkinitcpio: MODULES="..."; no assignment at all: one is added.
    CHECK(add_modules(ModulesFormat::bash_array, "MODULES=\"ahci\"\n", {"nvme"}, "MODULES", "").text
          == "MODULES=\"ahci nvme\"\n");
    CHECK(add_modules(ModulesFormat::bash_array, "HOOKS=(base)\n", {"nvme"}, "MODULES", "").text
          == "HOOKS=(base)\nMODULES=(nvme)\n");
  }

  TEST_CASE("shell_list: a file whose quote is never closed gets nothing, and says why")
  {
    auto edit =
        add_modules(ModulesFormat::shell_list, "X=\"open\n", {"nvme"}, "INITRD_MODULES", "c");
    CHECK(edit.text == "X=\"open\n");
    CHECK(edit.added.empty());
    CHECK(edit.problem.find("INITRD_MODULES cannot be set") != std::string::npos);
  }
}
