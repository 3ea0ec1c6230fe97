#include "drivers/linux_modules.hpp"

#include <doctest/doctest.h>

using namespace rehost::drivers;

TEST_SUITE("unit")
{
  TEST_CASE("module states come from modules.dep and modules.builtin")
  {
    auto index = ModuleIndex::parse(
        "kernel/drivers/nvme/host/nvme.ko.xz: kernel/drivers/nvme/host/nvme-core.ko.xz\n"
        "kernel/drivers/nvme/host/nvme-core.ko.xz:\n"
        "kernel/drivers/net/ethernet/amazon/ena/ena.ko.zst:\n"
        "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko\n",
        "kernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/virtio/virtio_ring.ko\n");
    CHECK(index.state("nvme") == DriverState::module);
    CHECK(index.state("nvme_core") == DriverState::module);
    CHECK(index.state("nvme-core") == DriverState::module);
    CHECK(index.state("ena") == DriverState::module);
    CHECK(index.state("virtio_pci") == DriverState::builtin);
    CHECK(index.state("xen_blkfront") == DriverState::missing);
    CHECK(index.with_dependencies("nvme") == std::vector<std::string>{"nvme_core", "nvme"});
    CHECK(index.with_dependencies("virtio_blk") == std::vector<std::string>{"virtio_blk"});
  }

  TEST_CASE("module_name normalises paths, compression suffixes and dashes")
  {
    CHECK(module_name("kernel/drivers/nvme/host/nvme-core.ko.zst") == "nvme_core");
    CHECK(module_name("virtio-blk") == "virtio_blk");
    CHECK(module_name("ena.ko.gz") == "ena");
  }
}
