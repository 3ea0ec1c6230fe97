// The boot test: start the converted image in qemu on the target's devices and wait for a login
// prompt on the serial console.
//
// The image is opened with snapshot=on, so the test never changes it. The test passes when
// "login:" appears on the console within the time limit; it fails early on the signs of a boot
// that cannot succeed (kernel panic, the initramfs giving up on the root device, an emergency
// shell), naming the line that showed it.
#pragma once

#include <chrono>
#include <string>

#include "converter/report.hpp"
#include "converter/rules.hpp"

namespace rehost {

struct BootTestOptions {
  std::string image;
  std::string format; // "qcow2", "raw"
  BootTestDevices devices;
  std::chrono::seconds timeout{600};
  std::string log_file; // where the serial console is saved
};

// The qemu command line for a boot test (exposed for tests and --verbose).
std::vector<std::string> boot_test_command(const BootTestOptions& options,
                                           const std::string& accel);

// Runs the boot test.
BootTestResult run_boot_test(const BootTestOptions& options);

// What a console transcript shows so far: "" while undecided, else the verdict.
struct ConsoleVerdict {
  bool decided = false;
  bool passed = false;
  std::string reason;
};
ConsoleVerdict judge_console(const std::string& console);

} // namespace rehost
