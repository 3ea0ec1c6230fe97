#include "drivers/initramfs_reader.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <chrono>
#include <memory>

#include <doctest/doctest.h>

#include "tests/test_util.hpp"

using namespace rehost::drivers;

namespace {

// The size of a newc header, which precedes its name.
constexpr size_t k_newc_header_size = 110;

// A newc cpio archive of `files` (name -> content), compressed with `filter` ("" for none).
std::string make_cpio(const std::vector<std::pair<std::string, std::string>>& files,
                      const std::string& filter)
{
  return rehost::test::cpio_archive(files, filter);
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("an early-microcode cpio followed by a compressed one is listed whole")
  {
    for (const char* filter : {"gzip", "xz", "zstd", "lz4", "bzip2", "lzma"}) {
      CAPTURE(filter);
      std::string early = make_cpio({{"kernel/x86/microcode/GenuineIntel.bin", "ucode"}}, "");
      std::string main = make_cpio(
          {{"./init", "#!/bin/sh"},
           {"usr/lib/modules/6.1.0-13-amd64/kernel/drivers/nvme/host/nvme.ko", "ko"},
           {"usr/lib/modules/6.1.0-13-amd64/kernel/drivers/nvme/host/nvme-core.ko.xz", "ko"},
           {"lib/modules/6.1.0-13-amd64/kernel/drivers/block/virtio_blk.ko.zst", "ko"}},
          filter);
      // Padding between the parts, as dracut and initramfs-tools write it.
      std::string image = early + std::string(512 - early.size() % 512, '\0') + main;
      auto listing = list_initramfs(image);
      REQUIRE(listing);
      REQUIRE(listing->segments.size() == 2);
      CHECK(listing->segments[0] == "cpio");
      CHECK(listing->segments[1].rfind("cpio+", 0) == 0);
      CHECK(listing->files.front() == "kernel/x86/microcode/GenuineIntel.bin");
      CHECK(modules_in(*listing, "6.1.0-13-amd64")
            == std::vector<std::string>{"nvme", "nvme_core", "virtio_blk"});
      CHECK(modules_in(*listing, "5.10.0-1-amd64").empty());
    }
  }

  TEST_CASE("damaged and empty images are errors, not crashes")
  {
    CHECK_FALSE(list_initramfs("").has_value());
    CHECK_FALSE(list_initramfs(std::string(4096, '\0')).has_value());
    CHECK_FALSE(list_initramfs("070701garbage").has_value());
    std::string main = make_cpio({{"init", "x"}}, "gzip");
    CHECK_FALSE(list_initramfs(main.substr(0, main.size() / 2)).has_value());
    CHECK_FALSE(list_initramfs("random bytes that are no archive at all").has_value());
  }

  TEST_CASE("a forged cpio header is refused before anything is allocated for it")
  {
    // Found by fuzz_initramfs: after a damaged header libarchive's cpio reader searched onward,
    // found this one, and allocated its 4 GB name before finding the data short.
    std::string forged = "070701" + std::string(8 * 11, '0') + "F000000A" + std::string(8, '0');
    REQUIRE(forged.size() == 110);
    std::string good = make_cpio({{"init", "#!/bin/sh"}}, "");
    auto plain = list_initramfs(good + forged + "name");
    REQUIRE_FALSE(plain);
    CHECK(plain.error().message.find("a name of 4026531850 bytes") != std::string::npos);
    // The same inside a compressed stream, after a valid entry and some damage.
    std::string entries = make_cpio({{"init", "#!/bin/sh"}, {"conf/modules", "nvme"}}, "");
    entries = entries.substr(0, entries.find("TRAILER!!!") - k_newc_header_size) + "0707damaged"
              + forged + "name";
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                              archive_write_free);
    archive_write_set_format_raw(a.get());
    archive_write_add_filter_gzip(a.get());
    std::string gz(1 << 20, '\0');
    size_t used = 0;
    archive_write_open_memory(a.get(), gz.data(), gz.size(), &used);
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    archive_entry_free);
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_write_header(a.get(), e.get());
    archive_write_data(a.get(), entries.data(), entries.size());
    archive_write_close(a.get());
    gz.resize(used);
    auto compressed = list_initramfs(gz);
    REQUIRE_FALSE(compressed);
    CHECK(compressed.error().message.find("gzip data: no cpio header at byte")
          != std::string::npos);
  }

  TEST_CASE("a 60 MB initramfs is read in well under a second")
  {
    std::vector<std::pair<std::string, std::string>> files;
    for (int i = 0; i < 600; ++i) {
      std::string content(100000, static_cast<char>('a' + i % 26));
      content[i] = 'z';
      files.push_back({"lib/modules/6.1.0/kernel/m" + std::to_string(i) + ".ko", content});
    }
    std::string image = make_cpio(files, "zstd");
    auto start = std::chrono::steady_clock::now();
    auto listing = list_initramfs(image);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(listing);
    CHECK(listing->files.size() == 600);
    CHECK(seconds < 1.0);
  }
}
