#include "converter/boot_test.hpp"

#include <chrono>
#include <fstream>

#include "converter/accel.hpp"
#include "converter/log.hpp"
#include "converter/process.hpp"

namespace rehost {

namespace {

std::string line_around(const std::string& text, size_t at)
{
  size_t start = text.rfind('\n', at);
  start = start == std::string::npos ? 0 : start + 1;
  size_t end = text.find('\n', at);
  std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  return line;
}

} // namespace

ConsoleVerdict judge_console(const std::string& console)
{
  // Failures first: a panic message can come after a login prompt was printed by nothing.
  static const char* const k_failures[] = {
      "Kernel panic",
      "Gave up waiting for root",
      "ALERT!",
      "Dropping to a shell",
      "(initramfs) ",
      "You are in emergency mode",
      "Entering emergency mode",
      "dracut-initqueue timeout",
      "Cannot open root device",
      "VFS: Unable to mount root fs",
  };
  for (const char* marker : k_failures) {
    size_t at = console.find(marker);
    if (at != std::string::npos) {
      return {true, false, line_around(console, at)};
    }
  }
  size_t login = console.find(" login: ");
  if (login == std::string::npos) {
    login = console.find("login: ");
  }
  if (login != std::string::npos) {
    return {true, true, "login prompt reached: " + line_around(console, login)};
  }
  return {};
}

std::vector<std::string> boot_test_command(const BootTestOptions& o, const std::string& accel)
{
  std::vector<std::string> argv = {
      "qemu-system-x86_64",
      "-accel",
      accel,
      "-machine",
      o.devices.machine,
      "-m",
      "1536",
      "-smp",
      "2",
      "-nodefaults",
      "-display",
      "none",
      "-no-reboot",
      "-serial",
      "stdio",
      "-cpu",
      accel == "kvm" ? "host" : "max",
      "-drive",
      "file=" + o.image + ",format=" + o.format + ",if=none,id=disk0,snapshot=on",
  };
  if (o.devices.firmware == "uefi") {
    argv.insert(argv.end(), {"-bios", "/usr/share/ovmf/OVMF.fd"});
  }
  if (o.devices.disk == "nvme") {
    argv.insert(argv.end(), {"-device", "nvme,drive=disk0,serial=rehostboot"});
  } else if (o.devices.disk == "virtio-scsi-pci") {
    argv.insert(argv.end(), {"-device", "virtio-scsi-pci,id=scsi0", "-device",
                             "scsi-hd,drive=disk0,bus=scsi0.0"});
  } else if (o.devices.disk == "ide-hd") {
    argv.insert(argv.end(), {"-device", "ide-hd,drive=disk0,bus=ide.0"});
  } else if (o.devices.disk == "pvscsi") {
    argv.insert(argv.end(),
                {"-device", "pvscsi,id=scsi0", "-device", "scsi-hd,drive=disk0,bus=scsi0.0"});
  } else {
    argv.insert(argv.end(), {"-device", o.devices.disk + ",drive=disk0"});
  }
  if (!o.devices.nic.empty()) {
    // User networking with no way out: the guest can configure its interface, nothing more.
    argv.insert(argv.end(),
                {"-netdev", "user,id=net0,restrict=on", "-device", o.devices.nic + ",netdev=net0"});
  }
  return argv;
}

BootTestResult run_boot_test(const BootTestOptions& o)
{
  BootTestResult result;
  result.ran = true;
  result.log_file = o.log_file;
  result.devices =
      o.devices.disk + " disk, " + (o.devices.nic.empty() ? "no NIC" : o.devices.nic + " NIC");
  const std::string accel = to_string(usable_accel());
  auto argv = boot_test_command(o, accel);
  std::string console;
  ConsoleVerdict verdict;
  ProcessOptions options;
  options.timeout = o.timeout;
  options.merge_stderr = true;
  options.on_output = [&](std::string_view chunk) {
    console.append(chunk);
    verdict = judge_console(console);
    return !verdict.decided;
  };
  auto start = std::chrono::steady_clock::now();
  auto run = run_process(argv, options);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!o.log_file.empty()) {
    std::ofstream(o.log_file, std::ios::binary) << console;
  }
  if (!run) {
    result.reason = run.error().message;
    return result;
  }
  if (verdict.decided) {
    result.passed = verdict.passed;
    result.reason = verdict.reason;
  } else if (run->timed_out) {
    result.reason = fmt::format("no login prompt within {} s", o.timeout.count());
  } else {
    result.reason = describe_failure(argv, *run);
  }
  return result;
}

} // namespace rehost
