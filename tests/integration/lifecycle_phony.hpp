// Small disks for the lifecycle tests: a phony Debian 12 that the native backend converts for
// real in well under a second, files written into and read out of its file system, and rehost
// run against one state directory.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_util.hpp"

namespace rehost::test {

enum class ConvertSpeed { fast, slow };

// A 32 MiB raw disk (MBR, one ext4 partition at 1 MiB labelled phony-root) holding the phony
// Debian of write_phony_debian, made convertible: a real gzip initramfs listing the target
// drivers, update-initramfs and update-grub scripts for its dash (update-grub writes grub.cfg
// from /etc/default/grub), the C library they need, no VMware tools. With ConvertSpeed::slow,
// update-initramfs sleeps 3 seconds (a window to interrupt a conversion in).
std::string make_convertible_disk(const TempDir& dir, const std::string& name,
                                  ConvertSpeed speed = ConvertSpeed::fast);

// Writes (replacing) the guest file `path` of a raw disk made above, with debugfs.
void write_guest_file(const std::string& disk, const std::string& path, const std::string& content);

// Reads the guest file `path` of a raw or qcow2 image of such a disk ("" when missing).
std::string read_guest_file(const TempDir& dir, const std::string& image, const std::string& path);

// Runs `rehost --state-dir STATE ARGS...`.
RunResult rehost_in(const std::string& state_dir, const std::vector<std::string>& args);

// The JSON rehost printed; fails the test when it is not JSON.
nlohmann::json stdout_json(const RunResult& result);

} // namespace rehost::test
